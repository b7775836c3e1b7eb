MATCH (j:Job {jid: $jid})
SET j.status = 'done', j.finished = $now, j.aid = $aid, j.progress = 1.0, j.error = null
RETURN j.jid AS jid
