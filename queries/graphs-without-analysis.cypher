// name: graphs-without-analysis
// description: Graphs that have no analysis yet (or none of the given mode).
// param: model str = null -- only graphs of this model; null = every model
// param: mode str(one-hop|shortest-path|layered) = null -- look for analyses of this mode only; null = any analysis
// returns: graph, model, step, sample, k, nodes, edges
// example: neuromfa query graphs-without-analysis --param mode=shortest-path
MATCH (g:Graph)
WHERE ($model IS NULL OR g.model = $model)
  AND NOT EXISTS { MATCH (g)<-[:ANALYSIS_OF]-(a:Analysis) WHERE $mode IS NULL OR a.mode = $mode }
RETURN g.gid AS graph, g.model AS model, g.step AS step, g.sample AS sample, g.k AS k,
       g.nodes AS nodes, g.edges AS edges
ORDER BY model, step, sample, graph
