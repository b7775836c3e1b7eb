// Create the Checkpoint of a model once; metrics found at ingest are kept as given first.
MATCH (m:Model {name: $model})
MERGE (c:Checkpoint {model: $model, step: $step})
ON CREATE SET c.metrics = $metrics, c.source = $source
MERGE (c)-[:CHECKPOINT_OF]->(m)
RETURN c.step AS step
