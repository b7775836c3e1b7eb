// name: neuron-across-checkpoints
// description: One neuron (model, sample, kind, block, index) followed across the checkpoints of a run: its synapse strengths and its NFD in each graph's latest analysis.
// param: model str = null -- model name; null = every model
// param: sample int = 0 -- sample number (the same neurons are sampled at every checkpoint)
// param: kind str(input|qkv|context|attn_out|mlp_hidden|output) = "attn_out" -- layer kind
// param: block int = 0 -- transformer block
// param: index int = null -- neuron index in its weight matrix; null = every sampled neuron of the layer
// param: learned_only bool = true -- skip the structural qkv -> context edges (w = 1)
// returns: model, index, step, graph, out_strength, in_strength, out_degree, in_degree, nfd, mass
// example: neuromfa query neuron-across-checkpoints --param kind=attn_out --param block=0
MATCH (g:Graph)
WHERE ($model IS NULL OR g.model = $model) AND g.sample = $sample
MATCH (n:Neuron {graph: g.gid, kind: $kind, block: $block})
WHERE $index IS NULL OR n.index = $index
OPTIONAL MATCH (n)-[o:SYNAPSE]->(t:Neuron)
WHERE NOT ($learned_only AND n.kind = 'qkv' AND t.kind = 'context')
WITH g, n, sum(abs(o.w)) AS out_strength, count(o) AS out_degree
OPTIONAL MATCH (n)<-[i:SYNAPSE]-(s:Neuron)
WHERE NOT ($learned_only AND s.kind = 'qkv' AND n.kind = 'context')
WITH g, n, out_strength, out_degree, sum(abs(i.w)) AS in_strength, count(i) AS in_degree
OPTIONAL MATCH (n)-[m:MEASURED]->(a:Analysis)
WHERE a.aid = g.analysis
RETURN g.model AS model, n.index AS index, g.step AS step, g.gid AS graph,
       out_strength, in_strength, out_degree, in_degree, m.nfd AS nfd, m.mass AS mass
ORDER BY model, index, step, graph
