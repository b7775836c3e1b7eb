// Number of nodes in the current database.
MATCH (n) RETURN count(n) AS n
