// name: distance-histogram
// description: Histogram of the synapse distances d = 1/|w| per layer kind (kind of the source neuron): bins (lo, hi] of fixed width up to max_d, then one overflow bin (max_d, inf) with bin_hi null; empty bins included.
// param: graph str = null -- Graph gid; null = the most recently created graph
// param: bin_width float(>0) = 10.0 -- width of one bin
// param: max_d float(>0) = 150.0 -- end of the last regular bin (the band threshold T)
// param: learned_only bool = true -- skip the structural qkv -> context edges (d = 1)
// returns: graph, kind, bin, bin_lo, bin_hi, edges
// example: neuromfa query distance-histogram --param bin_width=25 --param max_d=150
MATCH (g:Graph)
WHERE $graph IS NULL OR g.gid = $graph
WITH g ORDER BY g.created DESC, g.gid DESC LIMIT 1
MATCH (a:Neuron {graph: g.gid})-[s:SYNAPSE]->(b:Neuron)
WHERE NOT ($learned_only AND a.kind = 'qkv' AND b.kind = 'context')
WITH g, a.kind AS kind, s.d AS d, toInteger(ceil($max_d / $bin_width)) AS overflow
WITH g, kind, overflow,
     CASE WHEN d > $max_d THEN overflow
          ELSE toInteger(ceil(d / $bin_width)) - 1 END AS bin
WITH g, kind, overflow, bin, count(*) AS n
WITH g, kind, overflow, collect(bin) AS hit_bins, collect(n) AS hit_counts
UNWIND range(0, overflow) AS bin
RETURN g.gid AS graph, kind, bin,
       CASE WHEN bin = overflow THEN $max_d ELSE bin * $bin_width END AS bin_lo,
       CASE WHEN bin = overflow THEN null
            WHEN (bin + 1) * $bin_width > $max_d THEN $max_d
            ELSE (bin + 1) * $bin_width END AS bin_hi,
       coalesce(head([j IN range(0, size(hit_bins) - 1) WHERE hit_bins[j] = bin | hit_counts[j]]), 0) AS edges
ORDER BY kind, bin
