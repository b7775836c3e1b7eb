// Liveness and progress of a running job; no row back = the job was cancelled or taken over.
MATCH (j:Job {jid: $jid})
WHERE j.claim = $token AND j.status = 'running'
SET j.heartbeat = $now, j.progress = $progress
RETURN j.jid AS jid
