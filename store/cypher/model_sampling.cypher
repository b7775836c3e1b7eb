// The sampling settings already used for a model's graphs (k and seed base).
MATCH (g:Graph {model: $model})
RETURN collect(DISTINCT g.k) AS ks, collect(DISTINCT g.seed - g.sample) AS seed_bases
