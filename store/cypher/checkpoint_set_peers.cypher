// WeightWatcher's summary of one Checkpoint. Returns the step when the Checkpoint exists.
MATCH (c:Checkpoint {model: $model, step: $step})
SET c.ww_alpha = $ww_alpha, c.ww_alpha_weighted = $ww_alpha_weighted, c.ww_log_norm = $ww_log_norm,
    c.ww_layers = $ww_layers, c.ww_version = $ww_version
RETURN c.step AS step
