// Element ids of a graph's neurons and analyses: the delete removes them by id, in batches
// (on an idle local server 5.2 s against 31.4 s for DETACH DELETE of the label match, two
// 123k-synapse graphs; under load the two came out alike: benchmarks/store/bench_delete.py).
MATCH (n:Neuron {graph: $gid})
WITH collect(elementId(n)) AS neurons
OPTIONAL MATCH (a:Analysis {graph: $gid})
RETURN neurons, collect(elementId(a)) AS analyses
