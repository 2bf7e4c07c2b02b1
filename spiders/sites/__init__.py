"""Site files: one declarative TOML file per site (data only; monitor.sites reads them)."""
