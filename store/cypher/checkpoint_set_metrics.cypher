// Rows: [step, metrics JSON]. Returns the steps that exist.
UNWIND $rows AS r
MATCH (c:Checkpoint {model: $model, step: r[0]})
SET c.metrics = r[1]
RETURN collect(c.step) AS steps
