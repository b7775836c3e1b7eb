// What deleting one analysis removes: the Analysis, its MEASURED edges and the jobs that wrote
// it or would write it (done, or queued/running with its id as active key). No row: no such analysis.
MATCH (a:Analysis {aid: $aid})
OPTIONAL MATCH (j:Job) WHERE j.aid = $aid OR j.active_key = $aid
RETURN a.aid AS aid, a.graph AS graph, count(j) AS jobs
