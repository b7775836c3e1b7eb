// Graphs of a model to analyse; $steps / $samples null = all.
MATCH (g:Graph {model: $model})
WHERE ($steps IS NULL OR g.step IN $steps) AND ($samples IS NULL OR g.sample IN $samples)
RETURN g.gid AS gid, g.step AS step, g.sample AS sample, g.nodes AS nodes, g.edges AS edges,
       coalesce(g.topology, 'reference') AS topology
ORDER BY step, sample
