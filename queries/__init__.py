"""Named, parameterised Cypher queries (queries/*.cypher) and user Cypher, as DataFrames.

    from neuromfa.queries import list_queries, run_query, run_cypher
    run_query("strongest-synapses", kind="attn_out", block=0, limit=5)
    run_cypher("MATCH (g:Graph) RETURN g.gid AS gid", {})

    from neuromfa.queries import named       # one function per named query
    named.strongest_synapses(kind="attn_out", block=0, limit=5)
"""

from neuromfa.queries.library import QueryInfo, QueryParam, get_query, list_queries
from neuromfa.queries.runner import QueryResult, run_cypher, run_query

__all__ = ["QueryInfo", "QueryParam", "QueryResult", "get_query", "list_queries", "run_cypher",
           "run_query"]
