// name: layer-weight-change
// description: The change of a layer's mean |w| (synapses leaving the layer kind + block) between two steps of a model, averaged over every synapse of the graphs (samples) at each step; edges_* count the synapses used.
// param: model str = null -- model name; null = every model
// param: kind str(input|qkv|context|attn_out|mlp_hidden|output) = "mlp_hidden" -- layer kind of the source neurons
// param: block int = 0 -- transformer block
// param: step_from int = null -- first step; null = the model's earliest step
// param: step_to int = null -- second step; null = the model's latest step
// param: sample int = null -- only this sample; null = every sample
// param: learned_only bool = true -- skip the structural qkv -> context edges (w = 1)
// returns: model, step_from, step_to, edges_from, edges_to, mean_abs_w_from, mean_abs_w_to, change, ratio
// example: neuromfa query layer-weight-change --param kind=mlp_hidden --param block=0
MATCH (g:Graph)
WHERE ($model IS NULL OR g.model = $model) AND ($sample IS NULL OR g.sample = $sample)
WITH g.model AS model, min(g.step) AS first_step, max(g.step) AS last_step
WITH model, coalesce($step_from, first_step) AS step_from, coalesce($step_to, last_step) AS step_to
MATCH (g:Graph {model: model})
WHERE (g.step = step_from OR g.step = step_to) AND ($sample IS NULL OR g.sample = $sample)
OPTIONAL MATCH (a:Neuron {graph: g.gid, kind: $kind, block: $block})-[s:SYNAPSE]->(b:Neuron)
WHERE NOT ($learned_only AND a.kind = 'qkv' AND b.kind = 'context')
WITH model, step_from, step_to,
     count(CASE WHEN g.step = step_from THEN s END) AS edges_from,
     count(CASE WHEN g.step = step_to THEN s END) AS edges_to,
     avg(CASE WHEN g.step = step_from THEN abs(s.w) END) AS mean_abs_w_from,
     avg(CASE WHEN g.step = step_to THEN abs(s.w) END) AS mean_abs_w_to
RETURN model, step_from, step_to, edges_from, edges_to, mean_abs_w_from, mean_abs_w_to,
       mean_abs_w_to - mean_abs_w_from AS change,
       CASE WHEN mean_abs_w_from = 0 THEN null ELSE mean_abs_w_to / mean_abs_w_from END AS ratio
ORDER BY model
