// name: failed-jobs
// description: Failed jobs with their errors, the most recent first.
// param: model str = null -- only jobs on graphs of this model; null = every job
// param: limit int(>=0) = 50 -- how many jobs to return; 0 = all
// returns: job, kind, graph, error, worker, created, started, finished
// example: neuromfa query failed-jobs --param limit=10
MATCH (j:Job)
WHERE j.status = 'failed' AND ($model IS NULL OR j.graph STARTS WITH $model + '@')
WITH j, coalesce(j.finished, j.started, j.created) AS last_seen
ORDER BY last_seen DESC, j.jid
LIMIT $limit
RETURN j.jid AS job, j.kind AS kind, j.graph AS graph, j.error AS error, j.worker AS worker,
       j.created AS created, j.started AS started, j.finished AS finished
