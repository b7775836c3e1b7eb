// name: band-census
// description: Census of the synapses per graph and layer kind (of the source neuron): structural qkv -> context edges, learned edges below the distance band (d <= 1), inside it (1 < d <= threshold) and beyond it (d > threshold).
// param: graph str = null -- only this graph; null = every graph
// param: model str = null -- only graphs of this model; null = every model
// param: threshold float(>0) = 150.0 -- T, the upper end of the distance band
// returns: graph, kind, edges, structural, below_band, in_band, beyond_band
// example: neuromfa query band-census --param threshold=100
MATCH (g:Graph)
WHERE ($graph IS NULL OR g.gid = $graph) AND ($model IS NULL OR g.model = $model)
MATCH (a:Neuron {graph: g.gid})-[s:SYNAPSE]->(b:Neuron)
WITH g, a.kind AS kind, s.d AS d, (a.kind = 'qkv' AND b.kind = 'context') AS is_structural
RETURN g.gid AS graph, kind, count(*) AS edges,
       sum(CASE WHEN is_structural THEN 1 ELSE 0 END) AS structural,
       sum(CASE WHEN NOT is_structural AND d <= 1 THEN 1 ELSE 0 END) AS below_band,
       sum(CASE WHEN NOT is_structural AND d > 1 AND d <= $threshold THEN 1 ELSE 0 END) AS in_band,
       sum(CASE WHEN NOT is_structural AND d > $threshold THEN 1 ELSE 0 END) AS beyond_band
ORDER BY graph, kind
