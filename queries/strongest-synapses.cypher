// name: strongest-synapses
// description: The strongest synapses (largest |w|) leaving one layer (kind + block) of a graph.
// param: graph str = null -- Graph gid; null = the most recently created graph
// param: kind str(input|qkv|context|attn_out|mlp_hidden|output) = "mlp_hidden" -- layer kind of the source neurons
// param: block int = 0 -- transformer block of the source layer
// param: limit int(>=0) = 20 -- how many synapses to return; 0 = all
// param: learned_only bool = true -- skip the structural qkv -> context edges (w = 1)
// returns: graph, src_index, dst_kind, dst_block, dst_index, w, d
// example: neuromfa query strongest-synapses --param kind=attn_out --param block=0 --param limit=5
MATCH (g:Graph)
WHERE $graph IS NULL OR g.gid = $graph
WITH g ORDER BY g.created DESC, g.gid DESC LIMIT 1
MATCH (a:Neuron {graph: g.gid, kind: $kind, block: $block})-[s:SYNAPSE]->(b:Neuron)
WHERE NOT ($learned_only AND a.kind = 'qkv' AND b.kind = 'context')
WITH g, a, b, s, abs(s.w) AS abs_w
ORDER BY abs_w DESC, a.index, b.layer, b.index
LIMIT $limit
RETURN g.gid AS graph, a.index AS src_index, b.kind AS dst_kind, b.block AS dst_block,
       b.index AS dst_index, s.w AS w, s.d AS d
