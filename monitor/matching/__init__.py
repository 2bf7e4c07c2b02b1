"""Matching: is a listing selling personal data, of which kinds, and why.

Text is normalised (normalize.py), cut into words (segment.py, wordcut.py), matched against the
keyword lists (keywords.py, keyword_scope.py, matcher.py, scoring.py), read for prices, volumes
and contacts (extract.py, contacts.py, digit_runs.py), and scored by the learned model
(features.py, model.py; trained by training.py and learn.py, measured by evaluate.py).
"""

from monitor.matching.compiled import prefer_source

# Before any compiled module is imported: their sources instead of a stale or unwanted build.
prefer_source()
