MATCH (j:Job {jid: $jid})
RETURN j.jid AS jid, j.kind AS kind, j.graph AS graph, j.params AS params, j.status AS status,
       j.progress AS progress, j.error AS error, j.worker AS worker, j.aid AS aid,
       j.created AS created, j.started AS started, j.finished AS finished,
       j.heartbeat AS heartbeat, j.claim AS claim, j.active_key AS active_key
