"""Analyst tools over the store: full-text search (search.py, search_results.py), number
look-ups (lookup.py, bulk_lookup.py), retro-hunts with the current rules (retrohunt.py) and
statistics (stats.py)."""
