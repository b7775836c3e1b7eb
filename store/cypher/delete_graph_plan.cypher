// What deleting one graph removes: its neurons and synapses (as stored on the Graph), its
// analyses and the jobs of the graph. No row: no such graph.
MATCH (g:Graph {gid: $gid})
OPTIONAL MATCH (a:Analysis {graph: $gid})
WITH g, count(a) AS analyses
OPTIONAL MATCH (j:Job {graph: $gid})
RETURN g.gid AS gid, g.model AS model, g.nodes AS neurons, g.edges AS synapses, analyses,
       count(j) AS jobs
