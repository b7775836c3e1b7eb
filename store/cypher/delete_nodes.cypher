// Remove nodes (a graph's neurons) by element id with every edge they have (SYNAPSE, and
// MEASURED when analyses are left). Returns how many went.
UNWIND $ids AS id
MATCH (n) WHERE elementId(n) = id
DETACH DELETE n
RETURN count(n) AS nodes
