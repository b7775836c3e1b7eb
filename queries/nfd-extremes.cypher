// name: nfd-extremes
// description: The neurons with the highest (or lowest) node fractal dimension, per analysis: one given analysis, or the latest analysis of each graph.
// param: analysis str = null -- Analysis aid; null = the latest analysis of each graph
// param: graph str = null -- only this graph; null = every graph
// param: model str = null -- only graphs of this model; null = every model
// param: lowest bool = false -- list the lowest NFD instead of the highest
// param: limit int(>=0) = 10 -- neurons per analysis; 0 = all
// returns: graph, analysis, rank, kind, block, index, nfd, mass
// example: neuromfa query nfd-extremes --param lowest=true --param limit=5
MATCH (g:Graph)<-[:ANALYSIS_OF]-(a:Analysis)
WHERE ($graph IS NULL OR g.gid = $graph) AND ($model IS NULL OR g.model = $model)
  AND (($analysis IS NULL AND a.aid = g.analysis) OR a.aid = $analysis)
MATCH (n:Neuron)-[m:MEASURED]->(a)
WHERE m.nfd IS NOT NULL
WITH g, a, n, m, CASE WHEN $lowest THEN m.nfd ELSE -m.nfd END AS sort_key
ORDER BY sort_key, n.layer, n.index
WITH g, a, collect(n)[0..$limit] AS ns, collect(m)[0..$limit] AS ms
UNWIND range(0, size(ns) - 1) AS i
RETURN g.gid AS graph, a.aid AS analysis, i + 1 AS rank, ns[i].kind AS kind, ns[i].block AS block,
       ns[i].index AS index, ms[i].nfd AS nfd, ms[i].mass AS mass
ORDER BY graph, analysis, rank
