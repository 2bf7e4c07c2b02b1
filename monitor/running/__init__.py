"""Running: the monitor's schedule (daemon.py, schedule.py), crawls in their own processes
(sweep.py), distributed sweeps through Redis (distributed.py, reconnect.py, payload_signing.py,
writer.py), source health, the configured sources and the evidence kept from crawls."""
