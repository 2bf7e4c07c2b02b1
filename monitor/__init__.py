"""heishi: find, match and monitor listings that sell stolen personal data."""

__version__ = "0.1.0"
