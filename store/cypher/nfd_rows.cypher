// Node fractal dimension of every measured neuron of some analyses, one map per neuron
// (collect() of a bare property would drop the nulls of ineligible neurons).
MATCH (n:Neuron)-[m:MEASURED]->(a:Analysis)
WHERE a.aid IN $aids
RETURN collect({kind: n.kind, block: n.block, nfd: m.nfd, mass: m.mass}) AS rows
