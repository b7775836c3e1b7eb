// Retry: back to the queue, only if the job is still as the caller saw it (same status and
// claim), so a job that a live worker just took or finished is left alone.
MATCH (j:Job {jid: $jid})
SET j.lock = $token
WITH j
WHERE j.status = $status AND coalesce(j.claim, '') = $claim
SET j.status = 'queued', j.claim = null, j.worker = null, j.started = null, j.heartbeat = null,
    j.finished = null, j.error = null, j.progress = 0.0, j.aid = null
RETURN j.jid AS jid
