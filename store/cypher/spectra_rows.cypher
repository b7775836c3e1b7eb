// f(alpha) of every analysis of a model's graphs in one mode ($mode null = any), newest last.
MATCH (g:Graph {model: $model})<-[:ANALYSIS_OF]-(a:Analysis)
WHERE $mode IS NULL OR a.mode = $mode
RETURN g.gid AS gid, g.step AS step, g.sample AS sample, g.analysis AS headline, a.aid AS aid,
       a.mode AS mode, a.alpha AS alpha, a.f AS f, a.created AS created
ORDER BY step, sample, created
