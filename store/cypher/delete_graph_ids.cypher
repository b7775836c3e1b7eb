// Element ids of a graph's neurons and analyses: the delete removes them by id, in batches
// (as fast as DETACH DELETE of the label match: benchmarks/store/bench_delete.py).
MATCH (n:Neuron {graph: $gid})
WITH collect(elementId(n)) AS neurons
OPTIONAL MATCH (a:Analysis {graph: $gid})
RETURN neurons, collect(elementId(a)) AS analyses
