// The topologies of a model's stored graphs (one per model name: its tables compare one graph kind).
MATCH (g:Graph {model: $model})
RETURN collect(DISTINCT g.topology) AS topologies
