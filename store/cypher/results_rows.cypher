// Every Graph of a model with each of its analyses (null when none); $steps null = all steps.
MATCH (g:Graph {model: $model})
WHERE $steps IS NULL OR g.step IN $steps
OPTIONAL MATCH (a:Analysis)-[:ANALYSIS_OF]->(g)
RETURN g.gid AS gid, g.step AS step, g.sample AS sample, g.analysis AS headline, a.aid AS aid,
       a.mode AS mode, a.threshold AS threshold, a.params AS params, a.alpha0 AS alpha0,
       a.width AS width, a.r2 AS r2, a.nodes_used AS nodes_used, a.edges_used AS edges_used,
       a.passed_filter AS passed_filter, a.band AS band, a.null AS null,
       a.null_alpha0_mean AS null_alpha0_mean, a.null_width_mean AS null_width_mean,
       a.null_alpha0_std AS null_alpha0_std, a.null_width_std AS null_width_std,
       a.alpha0_z AS alpha0_z, a.width_z AS width_z, a.seconds_pull AS seconds_pull,
       a.seconds_compute AS seconds_compute, a.seconds_write AS seconds_write,
       a.created AS created
ORDER BY step, sample
