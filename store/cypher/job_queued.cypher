// Oldest queued jobs first: the candidates a worker tries to claim.
MATCH (j:Job {status: 'queued'})
RETURN j.jid AS jid
ORDER BY j.created, j.jid
LIMIT $limit
