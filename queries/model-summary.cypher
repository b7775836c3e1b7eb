// name: model-summary
// description: One row per model: architecture, checkpoints and their step range, graphs, samples, stored nodes and edges, analysed graphs, analyses, jobs and failed jobs.
// param: model str = null -- only this model; null = every model
// returns: model, arch, hidden, blocks, params, checkpoints, first_step, last_step, graphs, samples, nodes, edges, analysed_graphs, analyses, jobs, failed_jobs
// example: neuromfa query model-summary
MATCH (m:Model)
WHERE $model IS NULL OR m.name = $model
OPTIONAL MATCH (c:Checkpoint)-[:CHECKPOINT_OF]->(m)
WITH m, count(c) AS checkpoints, min(c.step) AS first_step, max(c.step) AS last_step
OPTIONAL MATCH (g:Graph)
WHERE g.model = m.name
WITH m, checkpoints, first_step, last_step, count(g) AS graphs, count(DISTINCT g.sample) AS samples,
     sum(g.nodes) AS nodes, sum(g.edges) AS edges,
     sum(CASE WHEN g.analysis IS NULL THEN 0 ELSE 1 END) AS analysed_graphs
OPTIONAL MATCH (a:Analysis)-[:ANALYSIS_OF]->(ag:Graph)
WHERE ag.model = m.name
WITH m, checkpoints, first_step, last_step, graphs, samples, nodes, edges, analysed_graphs,
     count(a) AS analyses
OPTIONAL MATCH (j:Job)
WHERE j.graph STARTS WITH m.name + '@'
WITH m, checkpoints, first_step, last_step, graphs, samples, nodes, edges, analysed_graphs, analyses,
     count(j) AS jobs, sum(CASE WHEN j.status = 'failed' THEN 1 ELSE 0 END) AS failed_jobs
RETURN m.name AS model, m.arch AS arch, m.hidden AS hidden, m.blocks AS blocks, m.params AS params,
       checkpoints, first_step, last_step, graphs, samples, nodes, edges, analysed_graphs, analyses,
       jobs, failed_jobs
ORDER BY model
