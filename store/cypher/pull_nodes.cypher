// Columnar pull (collect) is several times faster than row-by-row results. collect() skips
// nulls, so a missing part (a whole-matrix neuron, or a graph stored before parts) reads as ''.
MATCH (n:Neuron {graph: $gid})
RETURN collect(elementId(n)) AS ids, collect(n.layer) AS layer, collect(n.kind) AS kind,
       collect(n.block) AS block, collect(n.index) AS index, collect(coalesce(n.part, '')) AS part
