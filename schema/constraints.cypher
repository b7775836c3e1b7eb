// Uniqueness constraints of the graph model (schema/records.py). Neo4j 5 syntax, valid on
// ArcadeDB too. One statement per ';'. IF NOT EXISTS makes applying them idempotent.
// Each uniqueness constraint also provides the index for lookups by its key.
CREATE CONSTRAINT model_name IF NOT EXISTS FOR (m:Model) REQUIRE m.name IS UNIQUE;
CREATE CONSTRAINT checkpoint_model_step IF NOT EXISTS FOR (c:Checkpoint) REQUIRE (c.model, c.step) IS UNIQUE;
CREATE CONSTRAINT graph_gid IF NOT EXISTS FOR (g:Graph) REQUIRE g.gid IS UNIQUE;
CREATE CONSTRAINT neuron_uid IF NOT EXISTS FOR (n:Neuron) REQUIRE n.uid IS UNIQUE;
CREATE CONSTRAINT analysis_aid IF NOT EXISTS FOR (a:Analysis) REQUIRE a.aid IS UNIQUE;
CREATE CONSTRAINT job_jid IF NOT EXISTS FOR (j:Job) REQUIRE j.jid IS UNIQUE;
// At most one active (queued or running) job per graph and parameters: active_key is the analysis
// id while the job is active and absent once it finishes (absent values are not indexed).
CREATE CONSTRAINT job_active_key IF NOT EXISTS FOR (j:Job) REQUIRE j.active_key IS UNIQUE;
