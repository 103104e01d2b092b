# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install demo serve test test-all lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/coldrec demo

# the service and its demo shop page (http://localhost:8000/) on the built-in dataset; the
# first start seeds the store and trains. --open-writes: the page may write without a key
# (local demo only)
serve: $(STAMP)
	$(VENV)/bin/coldrec serve --data completejourney --port 8000 --open-writes

test: $(STAMP)
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m pytest

test-all: $(STAMP)
	$(PY) -m pytest -m ""

# (ruff's linter; the code is wrapped by hand at 100 columns, not by `ruff format`)
lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks

bench: $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	$(PY) benchmarks/protocols.py
	$(PY) benchmarks/coldstart.py
	$(PY) benchmarks/collaborative.py
	$(PY) benchmarks/longtail.py
	$(PY) benchmarks/serve_load.py
	$(PY) benchmarks/experiments.py
	$(PY) -m pip install --quiet --no-deps recbole==1.2.1 colorlog==4.7.2 colorama==0.4.4 \
		thop==0.1.1.post2209072238 texttable==1.7.2 tabulate==0.10.0
	$(PY) benchmarks/recbole_timing.py
	$(PY) benchmarks/recbole_split.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build src/*.egg-info
