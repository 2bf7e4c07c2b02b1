"""Personal data kept private: numbers masked with keyed hashes (pii.py), masked evidence pages
(evidence_masking.py), and files only their owner can read (file_modes.py)."""
