// Jobs, newest first. Every filter is optional (null = any): $statuses, $jids, $prefix (gid prefix, e.g. 'model@').
MATCH (j:Job)
WHERE ($statuses IS NULL OR j.status IN $statuses)
  AND ($jids IS NULL OR j.jid IN $jids)
  AND ($prefix IS NULL OR j.graph STARTS WITH $prefix)
RETURN j.jid AS jid, j.kind AS kind, j.graph AS graph, j.params AS params, j.status AS status,
       j.progress AS progress, j.error AS error, j.worker AS worker, j.aid AS aid,
       j.created AS created, j.started AS started, j.finished AS finished,
       j.heartbeat AS heartbeat, j.claim AS claim, j.active_key AS active_key
ORDER BY created DESC, jid DESC
LIMIT $limit
