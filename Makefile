# Two commands do all the set-up on a fresh Debian 12 machine: `make demo` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
LOCK   := requirements.lock
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=
SOAK_MINUTES ?= 10

.PHONY: demo test test-fast setup compile lock debs chromium redis lint bench soak clean translations

setup: $(STAMP) compile debs

# The versions pinned in requirements.lock, then heishi itself (editable: it runs from this
# checkout). Reinstalls only when the lock or pyproject.toml change, so a second run takes seconds.
$(STAMP): pyproject.toml $(LOCK)
	@python3 -c "import ensurepip" 2>/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq python3-venv; }
	@[ -x $(PY) ] || python3 -m venv $(VENV)
	@# uv installs the same pins about five times faster than pip (parallel downloads: 50 s
	@# against 270 s here, a fifth of a CI run); pip does it when uv cannot be installed.
	@# Compiled at install as pip does: jieba's old escapes warn when compiled, and the suite
	@# turns warnings into errors.
	{ $(PY) -m pip install -q --disable-pip-version-check 'uv>=0.9,<1' && \
	  $(VENV)/bin/uv pip install -q --compile-bytecode --python $(PY) -r $(LOCK); } || \
	  $(PY) -m pip install -q --disable-pip-version-check -r $(LOCK)
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

# The matcher's hot modules compiled to C by mypyc (it ships with mypy, in the lock), in place:
# each .so beside its .py wins at import. monitor/matching/compiled.py says which and why; with
# no C compiler or Python headers it says so and the same sources run as pure Python (same
# outputs, slower). Rebuilt when a module of monitor/matching/ changes.
COMPILED_STAMP := $(VENV)/.compiled
compile: $(COMPILED_STAMP)
$(COMPILED_STAMP): $(STAMP) $(wildcard monitor/matching/*.py)
	$(PY) -c 'import sys; from monitor.matching.compiled import main; sys.exit(main())'
	@touch $(COMPILED_STAMP)

# requirements.lock: every package (dev tools included) at the newest version pyproject.toml's
# ranges allow, resolved by pip-tools. Run after changing a dependency, or to take updates;
# `make lock LOCK_ARGS=` keeps the pins that still fit and only adds what is new.
LOCK_ARGS ?= --upgrade
lock:
	@[ -x $(PY) ] || python3 -m venv $(VENV)
	@[ -x $(VENV)/bin/pip-compile ] || $(PY) -m pip install -q --disable-pip-version-check 'pip-tools>=7.6,<8'
	$(VENV)/bin/pip-compile -q $(LOCK_ARGS) --extra dev --strip-extras --no-emit-index-url \
		--no-emit-find-links --no-emit-trusted-host --output-file $(LOCK) pyproject.toml

# Debian's packages the suite and the demo need, installed by one apt run when any is missing
# (one index update instead of one per package on a bare machine): Chromium (Playwright cannot
# download browsers here; heishi drives Debian's), a CJK font (without one Chromium draws every
# Chinese character of a screenshot as an empty box) and redis-server (the distributed-crawling
# tests start the binary; no service is used). `make chromium` and `make redis` still work.
chromium redis: debs

debs:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	fc-list :lang=zh family 2>/dev/null | grep -q . || missing="$$missing fonts-noto-cjk"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	[ -z "$$missing" ] || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $$missing; }

# The web page's message catalogues (monitor/web/i18n.py says how to add a string): every
# string extracted into messages.pot, merged into each language's .po, then compiled to .mo.
WEB := monitor/web
# Labels of the closed vocabularies the page shows (dismissal reasons), marked with N_().
LABELLED := monitor/vocabulary.py
translations: $(STAMP)
	$(VENV)/bin/pybabel -q extract -F $(WEB)/babel.cfg -o $(WEB)/locale/messages.pot --no-location --sort-output --omit-header $(WEB) $(LABELLED)
	$(VENV)/bin/pybabel -q update -i $(WEB)/locale/messages.pot -d $(WEB)/locale --no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date -w 100
	$(VENV)/bin/pybabel -q compile -d $(WEB)/locale --statistics

demo: setup
	$(VENV)/bin/heishi demo

lint: $(STAMP)
	$(VENV)/bin/ruff check monitor spiders tests benchmarks
	$(VENV)/bin/ruff format --check monitor spiders tests benchmarks
	$(VENV)/bin/mypy

# Two workers for most of the suite, then the tests judged against the clock (marker
# `serial`, tests/conftest.py) without the rest's load: two of their files side by side
# (--dist loadfile), since they mostly wait on their clocks (60 s of CPU in 230 s alone).
# Exit code 5 is "none of these were selected".
test: setup lint
	$(VENV)/bin/pytest -n 2 --dist loadgroup -m "not serial" $(PYTEST_ARGS) || [ $$? -eq 5 ]
	$(VENV)/bin/pytest -n 2 --dist loadfile -m serial $(PYTEST_ARGS) || [ $$? -eq 5 ]

# The quick tier, for the edit-test loop: every test but those marked browser, redis, daemon,
# slow or serial (pyproject.toml), on two workers; under two minutes on two cores. CI runs
# `make test`, which runs them all.
FAST := not browser and not redis and not daemon and not slow and not serial
test-fast: setup lint
	$(VENV)/bin/pytest -n 2 --dist loadgroup -m "$(FAST)" $(PYTEST_ARGS)

# Every benchmark, one table of ratios against baselines measured in the same run; JSON in
# benchmarks/results/. `make bench BENCH_ARGS="--quick"` or `BENCH_ARGS="--only crawl"`.
bench: setup
	$(PY) -m benchmarks $(BENCH_ARGS)

# Not in CI: the monitor, a distributed writer and worker against the changing demo sites for
# SOAK_MINUTES while every process is killed at random, then checks (tests/soak.py).
soak: setup
	$(PY) -m tests.soak --minutes $(SOAK_MINUTES)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build/compiled monitor/matching/*.so
