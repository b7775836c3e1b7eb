// Remove analyses by element id with their MEASURED and ANALYSIS_OF edges. Returns how many
// went, and how many MEASURED edges with them.
UNWIND $ids AS id
MATCH (a) WHERE elementId(a) = id
OPTIONAL MATCH (a)<-[m:MEASURED]-()
WITH a, count(m) AS measured
DETACH DELETE a
RETURN count(a) AS analyses, sum(measured) AS measured
