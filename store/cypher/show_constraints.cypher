// The constraints of the current database (Neo4j 5 and ArcadeDB).
SHOW CONSTRAINTS
