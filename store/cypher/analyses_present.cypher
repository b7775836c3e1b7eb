// Which of the given analysis ids are stored.
MATCH (a:Analysis)
WHERE a.aid IN $aids
RETURN collect(a.aid) AS aids
