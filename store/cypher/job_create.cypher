// Queue analysis jobs, at most one active job per key (graph + parameters: the analysis id).
// Rows: {jid, kind, graph, params, created, key}. MERGE on the unique active_key: a graph
// whose key is taken by a queued or running job gets that job back (created = false). Two
// concurrent enqueues: Neo4j serialises them on the constraint's index lock; on ArcadeDB the
// later commit breaks the constraint and the caller retries (the MERGE then finds the job).
UNWIND $rows AS r
MERGE (j:Job {active_key: r.key})
  ON CREATE SET j.jid = r.jid, j.kind = r.kind, j.graph = r.graph, j.params = r.params,
                j.status = 'queued', j.progress = 0.0, j.created = r.created
RETURN r.graph AS graph, j.jid AS jid, j.jid = r.jid AS created
