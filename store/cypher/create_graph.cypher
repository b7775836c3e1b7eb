// One SNIN header, linked to its Checkpoint (Graph.gid is unique: a concurrent twin fails here).
MATCH (c:Checkpoint {model: $model, step: $step})
CREATE (g:Graph {gid: $gid, model: $model, step: $step, sample: $sample, seed: $seed, k: $k,
                 topology: $topology, nodes: $nodes, edges: $edges, created: $created})
CREATE (g)-[:SAMPLED_FROM]->(c)
RETURN g.gid AS gid
