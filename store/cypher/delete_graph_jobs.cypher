// Every job of one graph, whatever its status (a running job's worker then finds it gone).
MATCH (j:Job {graph: $gid})
DELETE j
RETURN count(j) AS jobs
