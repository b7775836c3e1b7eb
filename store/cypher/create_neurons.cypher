// Rows: {uid, layer, kind, block, index, part}. Returns the element ids in row order for the synapse writer.
UNWIND $rows AS row
CREATE (n:Neuron {uid: row.uid, graph: $gid, layer: row.layer, kind: row.kind, block: row.block,
                  index: row.index, part: row.part})
RETURN collect(elementId(n)) AS ids
