// One Analysis linked to its Graph, and the headline metrics on the Graph. The null_* fields
// and z-scores are null for an analysis without a null model.
MATCH (g:Graph {gid: $graph})
CREATE (a:Analysis {aid: $aid, graph: $graph, mode: $mode, threshold: $threshold, params: $params,
                    q: $q, tau: $tau, alpha: $alpha, f: $f, r2: $r2, alpha0: $alpha0,
                    width: $width, nodes_used: $nodes_used, edges_used: $edges_used,
                    passed_filter: $passed_filter, band: $band, null: $null,
                    null_samples: $null_samples, null_alpha0: $null_alpha0,
                    null_width: $null_width, null_alpha0_mean: $null_alpha0_mean,
                    null_alpha0_std: $null_alpha0_std, null_width_mean: $null_width_mean,
                    null_width_std: $null_width_std, alpha0_z: $alpha0_z, width_z: $width_z,
                    seconds_pull: $seconds_pull, seconds_compute: $seconds_compute,
                    seconds_write: $seconds_write, created: $created})
CREATE (a)-[:ANALYSIS_OF]->(g)
SET g.alpha0 = $alpha0, g.width = $width, g.analysis = $aid, g.mode = $mode
RETURN a.aid AS aid
