// One Analysis with its MEASURED edges, and its jobs (see delete_analysis_plan).
MATCH (a:Analysis {aid: $aid})
OPTIONAL MATCH (j:Job) WHERE j.aid = $aid OR j.active_key = $aid
WITH a, collect(j) AS jobs
OPTIONAL MATCH (a)<-[m:MEASURED]-()
WITH a, jobs, count(m) AS measured
FOREACH (j IN jobs | DELETE j)
DETACH DELETE a
RETURN size(jobs) AS jobs, measured
