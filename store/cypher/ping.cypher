// Trivial query: the server is up, accepts our credentials and runs Cypher.
RETURN 1 AS ok
