// Seconds the write-back spent before this statement (set last, inside the same transaction).
MATCH (a:Analysis {aid: $aid})
SET a.seconds_write = $seconds
