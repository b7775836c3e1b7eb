// The per-matrix baselines (JSON string) of one Checkpoint; null where not computed.
MATCH (c:Checkpoint {model: $model, step: $step})
RETURN c.baseline_matrices AS matrices
