// Atomic claim, lock-then-check: the first SET write-locks the Job on Neo4j, so the status read
// after it is the committed one; on ArcadeDB two concurrent claims conflict at commit and the
// retried loser finds the job running. Returns a row only to the worker that claimed it.
MATCH (j:Job {jid: $jid})
SET j.lock = $token
WITH j
WHERE j.status = 'queued'
SET j.status = 'running', j.claim = $token, j.worker = $worker, j.started = $now,
    j.heartbeat = $now, j.progress = 0.0, j.error = null, j.finished = null, j.aid = null
RETURN j.jid AS jid, j.graph AS graph, j.params AS params
