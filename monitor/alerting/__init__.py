"""Changes and alerts: a sweep written into the store (ingest.py), what changed (changes.py,
diffing.py), how urgent it is (severity.py), reposted offers (reposts.py), and notifications
through the outbox (notify.py, notify_config.py, notify_text.py)."""
