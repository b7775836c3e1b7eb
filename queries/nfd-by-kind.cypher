// name: nfd-by-kind
// description: The distribution of the node fractal dimension per layer kind (neurons measured, eligible ones, mean, sample std (null below 2 values), min, max), per analysis: one given analysis, or the latest analysis of each graph.
// param: analysis str = null -- Analysis aid; null = the latest analysis of each graph
// param: graph str = null -- only this graph; null = every graph
// param: model str = null -- only graphs of this model; null = every model
// returns: graph, analysis, kind, neurons, eligible, mean_nfd, std_nfd, min_nfd, max_nfd
// example: neuromfa query nfd-by-kind
MATCH (g:Graph)<-[:ANALYSIS_OF]-(a:Analysis)
WHERE ($graph IS NULL OR g.gid = $graph) AND ($model IS NULL OR g.model = $model)
  AND (($analysis IS NULL AND a.aid = g.analysis) OR a.aid = $analysis)
MATCH (n:Neuron)-[m:MEASURED]->(a)
WITH g, a, n.kind AS kind, count(m) AS neurons, count(m.nfd) AS eligible, avg(m.nfd) AS mean_nfd,
     stDev(m.nfd) AS sd, min(m.nfd) AS min_nfd, max(m.nfd) AS max_nfd
RETURN g.gid AS graph, a.aid AS analysis, kind, neurons, eligible, mean_nfd,
       CASE WHEN eligible < 2 THEN null ELSE sd END AS std_nfd, min_nfd, max_nfd
ORDER BY graph, analysis, kind
