// Checkpoint metrics (a JSON object string) of every step of a model.
MATCH (c:Checkpoint {model: $model})
RETURN c.step AS step, c.metrics AS metrics
ORDER BY step
