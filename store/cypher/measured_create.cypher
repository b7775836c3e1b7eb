// Per-neuron results of one Analysis. Rows: {uid, nfd (null = ineligible), mass N_i(T)}.
MATCH (a:Analysis {aid: $aid})
UNWIND $rows AS row
MATCH (n:Neuron {uid: row.uid})
CREATE (n)-[:MEASURED {nfd: row.nfd, mass: row.mass}]->(a)
RETURN count(*) AS n
