// Queued or running jobs with these parameters on these graphs (analyze reuses them).
MATCH (j:Job)
WHERE j.status IN ['queued', 'running'] AND j.graph IN $graphs AND j.params = $params
RETURN j.jid AS jid, j.graph AS graph
