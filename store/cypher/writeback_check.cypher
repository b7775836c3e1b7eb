// First statement of a write-back: write-lock the Job (Neo4j) / make a concurrent cancel
// conflict with this transaction (ArcadeDB), then read who holds it.
MATCH (j:Job {jid: $jid})
SET j.lock = $token
RETURN j.status AS status, j.claim AS claim
