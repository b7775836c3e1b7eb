// Queued or running jobs with these parameters on these graphs (analyze reuses them).
UNWIND $graphs AS gid
MATCH (j:Job {graph: gid})
WHERE j.params = $params AND j.status IN ['queued', 'running']
RETURN j.jid AS jid, j.graph AS graph
