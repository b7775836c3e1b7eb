// Per-neuron results of one Analysis. Rows: [neuron uid, nfd (null = ineligible), mass N_i(T)].
MATCH (a:Analysis {aid: $aid})
UNWIND $rows AS r
MATCH (n:Neuron {uid: r[0]})
CREATE (n)-[:MEASURED {nfd: r[1], mass: r[2]}]->(a)
RETURN count(*) AS n
