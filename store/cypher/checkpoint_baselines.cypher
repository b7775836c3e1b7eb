// Baselines and WeightWatcher peers of every Checkpoint of a model (null where not computed,
// e.g. a database written before baselines existed).
MATCH (c:Checkpoint {model: $model})
RETURN c.step AS step, c.log_rms AS log_rms, c.log_norm AS log_norm,
       c.log_spectral_norm AS log_spectral_norm, c.ww_alpha AS ww_alpha,
       c.ww_alpha_weighted AS ww_alpha_weighted, c.ww_log_norm AS ww_log_norm,
       c.baseline_matrices IS NOT NULL AS has_baselines, c.ww_version IS NOT NULL AS has_peers
ORDER BY step
