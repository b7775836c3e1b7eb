// Requeue a running job whose worker is gone, only if it is still as the caller judged it
// (same claim, same heartbeat): a worker that beat meanwhile keeps its job (lock-then-check).
// The job keeps its active_key; its old worker's later writes fail their claim check.
MATCH (j:Job {jid: $jid})
SET j.lock = $token
WITH j
WHERE j.status = 'running' AND j.claim = $claim AND coalesce(j.heartbeat, '') = $heartbeat
SET j.status = 'queued', j.claim = null, j.worker = null, j.started = null, j.heartbeat = null,
    j.progress = 0.0, j.error = $reason
RETURN j.jid AS jid
