// name: checkpoints
// description: The checkpoints of a model with their stored metrics (a JSON object string), graphs and analysed graphs per step.
// param: model str = null -- model name; null = every model
// returns: model, step, metrics, graphs, analysed_graphs
// example: neuromfa query checkpoints --format json
MATCH (c:Checkpoint)
WHERE $model IS NULL OR c.model = $model
OPTIONAL MATCH (g:Graph)-[:SAMPLED_FROM]->(c)
RETURN c.model AS model, c.step AS step, c.metrics AS metrics, count(g) AS graphs,
       sum(CASE WHEN g.analysis IS NULL THEN 0 ELSE 1 END) AS analysed_graphs
ORDER BY model, step
