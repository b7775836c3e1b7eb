// Rows: [uid, layer, kind, block, index]. Returns the element ids in row order for the synapse writer.
UNWIND $rows AS r
CREATE (n:Neuron {uid: r[0], graph: $gid, layer: r[1], kind: r[2], block: r[3], index: r[4]})
RETURN collect(elementId(n)) AS ids
