// What deleting a model removes: its graphs (with their neuron and synapse counts), the jobs of
// its graphs, its checkpoints. No row: no such model.
MATCH (m:Model {name: $name})
OPTIONAL MATCH (c:Checkpoint {model: $name})
WITH m, count(c) AS checkpoints
OPTIONAL MATCH (g:Graph {model: $name})
RETURN m.name AS name, checkpoints, collect(g.gid) AS gids, sum(g.nodes) AS neurons,
       sum(g.edges) AS synapses
