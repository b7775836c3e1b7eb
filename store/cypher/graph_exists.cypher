MATCH (g:Graph {gid: $gid})
RETURN g.gid AS gid, g.edges AS edges
