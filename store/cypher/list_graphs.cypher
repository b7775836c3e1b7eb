MATCH (g:Graph)
WHERE $model IS NULL OR g.model = $model
RETURN g.gid AS gid, g.model AS model, g.step AS step, g.sample AS sample, g.seed AS seed, g.k AS k,
       g.topology AS topology, g.nodes AS nodes, g.edges AS edges, g.created AS created
ORDER BY model, step, sample
