// name: graph-edges
// description: One sampled graph as an edge list (source and target neuron, w, d), in layer order.
// param: graph str = null -- Graph gid; null = the most recently created graph
// param: limit int(>=0) = 1000 -- at most this many edges; 0 = all
// returns: graph, src_kind, src_block, src_index, dst_kind, dst_block, dst_index, w, d
// example: neuromfa query graph-edges --param limit=100000 --format parquet --out edges.parquet
MATCH (g:Graph)
WHERE $graph IS NULL OR g.gid = $graph
WITH g ORDER BY g.created DESC, g.gid DESC LIMIT 1
MATCH (a:Neuron {graph: g.gid})-[s:SYNAPSE]->(b:Neuron)
WITH g, a, b, s ORDER BY a.layer, a.index, b.layer, b.index
LIMIT $limit
RETURN g.gid AS graph, a.kind AS src_kind, a.block AS src_block, a.index AS src_index,
       b.kind AS dst_kind, b.block AS dst_block, b.index AS dst_index, s.w AS w, s.d AS d
