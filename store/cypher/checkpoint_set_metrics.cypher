// Rows: {step, metrics JSON}. Returns the steps that exist.
UNWIND $rows AS row
MATCH (c:Checkpoint {model: $model, step: row.step})
SET c.metrics = row.metrics
RETURN collect(c.step) AS steps
