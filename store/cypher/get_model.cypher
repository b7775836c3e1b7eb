MATCH (m:Model {name: $name})
RETURN m.name AS name, m.arch AS arch, m.hidden AS hidden, m.blocks AS blocks, m.params AS params, m.source AS source
