// Lookup indexes (docs/architecture.md: graphs of a model, neurons of a graph, analyses of a graph,
// jobs by status). Checkpoint (model, step) is indexed by its uniqueness constraint.
// Neo4j 5 syntax, valid on ArcadeDB too. One statement per ';'.
CREATE INDEX graph_model IF NOT EXISTS FOR (g:Graph) ON (g.model);
CREATE INDEX neuron_graph IF NOT EXISTS FOR (n:Neuron) ON (n.graph);
CREATE INDEX analysis_graph IF NOT EXISTS FOR (a:Analysis) ON (a.graph);
CREATE INDEX job_status IF NOT EXISTS FOR (j:Job) ON (j.status);
