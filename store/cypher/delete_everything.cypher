// Delete every node and relationship of the current database (tests on a shared Neo4j).
MATCH (n) DETACH DELETE n
