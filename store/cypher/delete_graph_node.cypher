// The Graph node itself (its SAMPLED_FROM edge goes with it), once its neurons are gone.
MATCH (g:Graph {gid: $gid})
DETACH DELETE g
RETURN count(g) AS graphs
