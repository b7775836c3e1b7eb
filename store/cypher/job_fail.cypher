// Record the error of a job this worker still holds (a cancelled job stays cancelled).
MATCH (j:Job {jid: $jid})
SET j.lock = $token
WITH j
WHERE j.claim = $token AND j.status = 'running'
SET j.status = 'failed', j.error = $error, j.finished = $now, j.active_key = null
RETURN j.jid AS jid
