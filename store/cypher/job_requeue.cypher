// Retry a finished (failed or cancelled) job: back to the queue, only if it is still as the
// caller saw it (same status and claim), taking its active_key again (a constraint violation
// when another job of the same graph and parameters is active meanwhile).
MATCH (j:Job {jid: $jid})
SET j.lock = $token
WITH j
WHERE j.status = $status AND coalesce(j.claim, '') = $claim
SET j.status = 'queued', j.claim = null, j.worker = null, j.started = null, j.heartbeat = null,
    j.finished = null, j.error = null, j.progress = 0.0, j.aid = null, j.active_key = $key
RETURN j.jid AS jid
