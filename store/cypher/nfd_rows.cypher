// Node fractal dimension of every measured neuron of some analyses, one list per neuron
// (collect() of a bare property would drop the nulls of ineligible neurons).
MATCH (n:Neuron)-[m:MEASURED]->(a:Analysis)
WHERE a.aid IN $aids
RETURN collect([n.kind, n.block, m.nfd, m.mass]) AS rows
