// name: emergence
// description: alpha_0 and width per step of a model (mean and population std over its graphs, ddof 0, so 0 for one graph, as in `neuromfa emergence`), and the degree of emergence E(t) = (w(t) / w(t0)) * ln(alpha_0(t0) / alpha_0(t)); E is null where `neuromfa emergence` refuses (w(t0) = 0, alpha_0 <= 0, an unknown reference step).
// param: model str = null -- model name; null = every model (E relative to each model's own t0)
// param: mode str(one-hop|shortest-path|layered) = null -- use each graph's latest analysis of this mode; null = each graph's latest analysis
// param: passed_only bool = true -- only analyses that passed the sample filter
// param: reference_step int = null -- t0; null = the model's earliest analysed step
// returns: model, step, samples, alpha0, alpha0_std, width, width_std, reference_step, E
// example: neuromfa query emergence --param passed_only=false
// note: the same values as `neuromfa emergence` (tests/test_queries_emergence.py); where that refuses a whole model, this gives null E on the rows concerned, and a step none of whose graphs passed the filter is left out. passed_only=false also counts the graphs that failed the filter, which `neuromfa emergence` never does.
MATCH (g:Graph)<-[:ANALYSIS_OF]-(a:Analysis)
WHERE ($model IS NULL OR g.model = $model)
  AND (($mode IS NULL AND a.aid = g.analysis) OR a.mode = $mode)
  AND (NOT $passed_only OR a.passed_filter)
WITH g, a ORDER BY a.created DESC, a.aid DESC
WITH g, collect(a)[0] AS latest
WITH g.model AS model, g.step AS step, count(*) AS samples,
     avg(latest.alpha0) AS alpha0, stDevP(latest.alpha0) AS alpha0_std,
     avg(latest.width) AS width, stDevP(latest.width) AS width_std
ORDER BY model, step
WITH model, collect(step) AS steps, collect(samples) AS ns, collect(alpha0) AS a0s,
     collect(alpha0_std) AS a0_stds, collect(width) AS ws, collect(width_std) AS w_stds
WITH model, steps, ns, a0s, a0_stds, ws, w_stds,
     CASE WHEN $reference_step IS NULL THEN 0
          ELSE head([j IN range(0, size(steps) - 1) WHERE steps[j] = $reference_step]) END AS r
UNWIND range(0, size(steps) - 1) AS i
WITH model, steps[i] AS step, ns[i] AS samples, a0s[i] AS alpha0, a0_stds[i] AS alpha0_std,
     ws[i] AS width, w_stds[i] AS width_std, steps[r] AS ref_step, a0s[r] AS ref_alpha0, ws[r] AS ref_width
RETURN model, step, samples, alpha0, alpha0_std, width, width_std, ref_step AS reference_step,
       CASE WHEN ref_width IS NULL OR ref_width = 0 OR alpha0 IS NULL OR alpha0 <= 0 OR ref_alpha0 <= 0
            THEN null
            ELSE (width / ref_width) * log(ref_alpha0 / alpha0) END AS E
ORDER BY model, step
