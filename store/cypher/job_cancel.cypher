// Cancel a queued or running job (lock-then-check). A running job's worker sees it at its next
// heartbeat or at write-back, and leaves no results.
MATCH (j:Job {jid: $jid})
SET j.lock = $token
WITH j
WHERE j.status IN ['queued', 'running']
SET j.status = 'cancelled', j.error = $reason, j.finished = $now, j.active_key = null
RETURN j.jid AS jid
