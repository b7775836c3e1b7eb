// name: jobs-by-status
// description: The number of jobs per model and status, with the oldest creation and the latest finish time.
// param: model str = null -- only jobs on graphs of this model; null = every job
// returns: model, status, jobs, first_created, last_finished
// example: neuromfa query jobs-by-status
MATCH (j:Job)
WHERE $model IS NULL OR j.graph STARTS WITH $model + '@'
WITH j, split(j.graph, '@')[0] AS model
RETURN model, j.status AS status, count(*) AS jobs, min(j.created) AS first_created,
       max(j.finished) AS last_finished
ORDER BY model, status
