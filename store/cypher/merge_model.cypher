// Create the Model once; an existing Model keeps its properties (ingest checks they agree).
MERGE (m:Model {name: $name})
ON CREATE SET m.arch = $arch, m.hidden = $hidden, m.blocks = $blocks, m.params = $params, m.source = $source
RETURN m.arch AS arch, m.hidden AS hidden, m.blocks AS blocks
