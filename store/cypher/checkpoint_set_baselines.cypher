// Weight-scale baselines of one Checkpoint: the summaries as properties (queryable), the
// per-matrix detail as a JSON string. Returns the step when the Checkpoint exists.
MATCH (c:Checkpoint {model: $model, step: $step})
SET c.log_rms = $log_rms, c.log_norm = $log_norm, c.log_spectral_norm = $log_spectral_norm,
    c.baseline_matrices = $matrices
RETURN c.step AS step
