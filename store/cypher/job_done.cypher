// Inside the write-back transaction (after its claim check): the job is finished, its key free.
MATCH (j:Job {jid: $jid})
SET j.status = 'done', j.finished = $now, j.aid = $aid, j.progress = 1.0, j.error = null,
    j.active_key = null
RETURN j.jid AS jid
