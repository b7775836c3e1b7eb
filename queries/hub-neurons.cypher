// name: hub-neurons
// description: Hub neurons of a graph: the neurons with the largest total |w| of outgoing, incoming or all synapses.
// param: graph str = null -- Graph gid; null = the most recently created graph
// param: direction str(out|in|both) = "out" -- rank by outgoing, incoming or all synapses
// param: kind str(input|qkv|context|attn_out|mlp_hidden|output) = null -- only neurons of this layer kind; null = every kind
// param: limit int(>=0) = 10 -- how many neurons to return; 0 = all
// param: learned_only bool = true -- skip the structural qkv -> context edges (w = 1)
// returns: graph, kind, block, index, strength, out_strength, in_strength, out_degree, in_degree
// example: neuromfa query hub-neurons --param direction=in --param limit=5
MATCH (g:Graph)
WHERE $graph IS NULL OR g.gid = $graph
WITH g ORDER BY g.created DESC, g.gid DESC LIMIT 1
MATCH (n:Neuron {graph: g.gid})
WHERE $kind IS NULL OR n.kind = $kind
OPTIONAL MATCH (n)-[o:SYNAPSE]->(t:Neuron)
WHERE NOT ($learned_only AND n.kind = 'qkv' AND t.kind = 'context')
WITH g, n, sum(abs(o.w)) AS out_strength, count(o) AS out_degree
OPTIONAL MATCH (n)<-[i:SYNAPSE]-(s:Neuron)
WHERE NOT ($learned_only AND s.kind = 'qkv' AND n.kind = 'context')
WITH g, n, out_strength, out_degree, sum(abs(i.w)) AS in_strength, count(i) AS in_degree
WITH g, n, out_strength, out_degree, in_strength, in_degree,
     CASE $direction WHEN 'in' THEN in_strength
                     WHEN 'both' THEN in_strength + out_strength
                     ELSE out_strength END AS strength
ORDER BY strength DESC, n.layer, n.index
LIMIT $limit
RETURN g.gid AS graph, n.kind AS kind, n.block AS block, n.index AS index, strength,
       out_strength, in_strength, out_degree, in_degree
