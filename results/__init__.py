"""Stored analyses as tables: results per graph, emergence per step (read through the store's
repositories, computed with the engine)."""
