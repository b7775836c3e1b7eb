// A model's checkpoints, the jobs left under its name, and the Model, once no Graph of it is
// left (a graph ingested meanwhile keeps everything: the caller says so).
MATCH (m:Model {name: $name})
WHERE NOT EXISTS { MATCH (g:Graph {model: $name}) }
OPTIONAL MATCH (c:Checkpoint {model: $name})
WITH m, collect(c) AS checkpoints
OPTIONAL MATCH (j:Job) WHERE j.graph STARTS WITH $prefix
WITH m, checkpoints, collect(j) AS jobs
FOREACH (c IN checkpoints | DETACH DELETE c)
FOREACH (j IN jobs | DELETE j)
DETACH DELETE m
RETURN size(checkpoints) AS checkpoints, size(jobs) AS jobs
