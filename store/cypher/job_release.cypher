// Put a job this worker holds back in the queue (the worker stops before finishing it).
MATCH (j:Job {jid: $jid})
SET j.lock = $token
WITH j
WHERE j.claim = $token AND j.status = 'running'
SET j.status = 'queued', j.claim = null, j.worker = null, j.started = null, j.heartbeat = null,
    j.progress = 0.0
RETURN j.jid AS jid
