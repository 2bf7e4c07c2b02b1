"""Site files: one declarative TOML file per site in this directory, and their loader."""

from monitor.sites.checks import Schedule
from monitor.sites.loader import Site, find_site, load_site, load_sites
from monitor.sites.presets import KINDS, PRESETS

__all__ = ["KINDS", "PRESETS", "Schedule", "Site", "find_site", "load_site", "load_sites"]
