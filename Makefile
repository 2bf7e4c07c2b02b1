# Two commands do all the set-up on a fresh Debian 12 machine: `make demo` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=

.PHONY: demo test setup chromium lint bench clean

setup: $(STAMP) chromium

# Reinstall only when the project's dependencies change, so the second run takes seconds.
$(STAMP): pyproject.toml
	@python3 -c "import ensurepip" 2>/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq python3-venv; }
	@[ -x $(PY) ] || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

# Playwright cannot download browsers here; heishi drives Debian's Chromium instead.
chromium:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

demo: setup
	$(VENV)/bin/heishi demo

lint: $(STAMP)
	$(VENV)/bin/ruff check monitor spiders tests
	$(VENV)/bin/ruff format --check monitor spiders tests

test: setup lint
	$(VENV)/bin/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
