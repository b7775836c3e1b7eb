// After an analysis of a graph is deleted: the Graph's headline becomes its newest remaining
// analysis, or none (the properties removed) when none is left.
MATCH (g:Graph {gid: $gid})
WHERE g.analysis = $aid
OPTIONAL MATCH (b:Analysis {graph: $gid})
WITH g, b
ORDER BY b.created DESC, b.aid DESC
LIMIT 1
SET g.analysis = b.aid, g.alpha0 = b.alpha0, g.width = b.width, g.mode = b.mode
RETURN g.analysis AS headline
