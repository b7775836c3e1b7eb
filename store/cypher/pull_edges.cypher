MATCH (a:Neuron {graph: $gid})-[s:SYNAPSE]->(b:Neuron)
RETURN collect(elementId(a)) AS src, collect(elementId(b)) AS dst, collect(s.w) AS w
