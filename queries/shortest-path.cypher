// name: shortest-path
// description: The shortest directed path (fewest synapses) between two neurons of a graph, its length in hops, the sum of the distances d along it and its neurons as kind/block/index; one row, with nulls when there is no path.
// param: graph str = null -- Graph gid; null = the most recently created graph
// param: from_kind str(input|qkv|context|attn_out|mlp_hidden|output) = "input" -- layer kind of the start neuron
// param: from_block int = 0 -- block of the start neuron; null = the lowest block holding that kind
// param: from_index int = null -- index of the start neuron; null = the lowest sampled index
// param: to_kind str(input|qkv|context|attn_out|mlp_hidden|output) = "output" -- layer kind of the end neuron
// param: to_block int = null -- block of the end neuron; null = the highest block holding that kind
// param: to_index int = null -- index of the end neuron; null = the lowest sampled index
// param: max_d float(>0) = null -- only walk synapses with d <= max_d; null = every synapse
// returns: graph, from_uid, to_uid, hops, distance, path
// example: neuromfa query shortest-path --param from_kind=input --param to_kind=mlp_hidden --param to_block=0
// note: the length is counted in synapses; a shortest path by summed distance needs the analysis engine (igraph), not Cypher.
// note: Neo4j applies max_d during the search; ArcadeDB (26.10) applies it to the one path it found, so there a row with null hops
//   can mean only that this path crosses a synapse with d > max_d.
MATCH (g:Graph)
WHERE $graph IS NULL OR g.gid = $graph
WITH g ORDER BY g.created DESC, g.gid DESC LIMIT 1
MATCH (a:Neuron {graph: g.gid, kind: $from_kind})
WHERE ($from_block IS NULL OR a.block = $from_block) AND ($from_index IS NULL OR a.index = $from_index)
WITH g, a ORDER BY a.block, a.index LIMIT 1
MATCH (b:Neuron {graph: g.gid, kind: $to_kind})
WHERE ($to_block IS NULL OR b.block = $to_block) AND ($to_index IS NULL OR b.index = $to_index)
WITH g, a, b ORDER BY b.block DESC, b.index LIMIT 1
OPTIONAL MATCH p = shortestPath((a)-[:SYNAPSE*]->(b))
WHERE all(r IN relationships(p) WHERE $max_d IS NULL OR r.d <= $max_d)
RETURN g.gid AS graph, a.uid AS from_uid, b.uid AS to_uid,
       CASE WHEN p IS NULL THEN null ELSE length(p) END AS hops,
       CASE WHEN p IS NULL THEN null ELSE reduce(t = 0.0, r IN relationships(p) | t + r.d) END AS distance,
       CASE WHEN p IS NULL THEN null
            ELSE [x IN nodes(p) | x.kind + '/' + toString(x.block) + '/' + toString(x.index)] END AS path
