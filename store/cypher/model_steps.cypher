// Stored steps and samples of a model (for error messages and listings).
MATCH (g:Graph {model: $model})
RETURN collect(DISTINCT g.step) AS steps, collect(DISTINCT g.sample) AS samples
