// Queue analysis jobs. Rows: {jid, kind, graph, params, created}.
UNWIND $rows AS r
CREATE (j:Job {jid: r.jid, kind: r.kind, graph: r.graph, params: r.params, status: 'queued',
               progress: 0.0, created: r.created})
RETURN collect(j.jid) AS jids
