// Drop a previous Analysis with the same aid (DETACH also drops its MEASURED edges).
MATCH (a:Analysis {aid: $aid})
DETACH DELETE a
