// name: weight-histogram
// description: Histogram of the signed synapse weights w per layer kind (kind of the source neuron), equal-width bins between that kind's min and max w; empty bins included.
// param: graph str = null -- Graph gid; null = the most recently created graph
// param: bins int(>=1) = 10 -- number of bins per layer kind
// param: learned_only bool = true -- skip the structural qkv -> context edges (w = 1)
// returns: graph, kind, bin, bin_lo, bin_hi, edges
// example: neuromfa query weight-histogram --param bins=20
MATCH (g:Graph)
WHERE $graph IS NULL OR g.gid = $graph
WITH g ORDER BY g.created DESC, g.gid DESC LIMIT 1
MATCH (a:Neuron {graph: g.gid})-[s:SYNAPSE]->(b:Neuron)
WHERE NOT ($learned_only AND a.kind = 'qkv' AND b.kind = 'context')
WITH g, a.kind AS kind, min(s.w) AS w_min, max(s.w) AS w_max
WITH g, kind, w_min, w_max, (w_max - w_min) / $bins AS width
MATCH (a:Neuron {graph: g.gid, kind: kind})-[s:SYNAPSE]->(b:Neuron)
WHERE NOT ($learned_only AND a.kind = 'qkv' AND b.kind = 'context')
WITH g, kind, w_min, width,
     CASE WHEN width = 0 THEN 0 ELSE toInteger(floor((s.w - w_min) / width)) END AS raw_bin
WITH g, kind, w_min, width, CASE WHEN raw_bin >= $bins THEN $bins - 1 ELSE raw_bin END AS bin
WITH g, kind, w_min, width, bin, count(*) AS n
WITH g, kind, w_min, width, collect(bin) AS hit_bins, collect(n) AS hit_counts
UNWIND range(0, $bins - 1) AS bin
RETURN g.gid AS graph, kind, bin, w_min + bin * width AS bin_lo, w_min + (bin + 1) * width AS bin_hi,
       coalesce(head([j IN range(0, size(hit_bins) - 1) WHERE hit_bins[j] = bin | hit_counts[j]]), 0) AS edges
ORDER BY kind, bin
