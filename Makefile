# Every target bootstraps what it needs from nothing but python3 (and npm for the web assets).
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.andon-installed
ASSETS := src/andon/web/static/vendor/.installed
UV_VERSION := 0.13.9
DEMO_DIR ?= var/demo
DEMO_ENV := ANDON_DEMO=1 ANDON_DATA_DIR=$(DEMO_DIR) ANDON_TIMEZONE=America/Chicago
export UV_NO_PROGRESS := 1

.PHONY: demo test wheel-check bench lint serve install lock clean

demo: install ## Create the environment, migrate and load the demo plant, serve on :8000
	$(DEMO_ENV) $(BIN)/andon db upgrade
	$(DEMO_ENV) $(BIN)/andon demo load
	$(DEMO_ENV) $(BIN)/andon serve

test: install wheel-check ## Lint, type-check, check the wheel and run the whole suite (SQLite, PostgreSQL, browser)
	$(BIN)/python -m compileall -q -j 0 src > /dev/null
	$(BIN)/ruff check src tests bench migrations scripts hatch_build.py
	$(BIN)/ruff format --check src tests bench migrations scripts hatch_build.py
	$(BIN)/mypy
	$(BIN)/mypy scripts/check_wheel.py
	$(BIN)/python -m pytest -n 2 --dist loadgroup -p no:cacheprovider --durations=15

wheel-check: install ## Build the wheel, install it in a scratch venv, migrate, load the demo and serve from it
	$(BIN)/python scripts/check_wheel.py

bench: install ## Benchmarks; results written as JSON under bench/results/
	$(BIN)/python -m bench.run

lint: install
	$(BIN)/ruff check src tests bench migrations scripts hatch_build.py
	$(BIN)/ruff format --check src tests bench migrations scripts hatch_build.py
	$(BIN)/mypy
	$(BIN)/mypy scripts/check_wheel.py

serve: install ## Serve with the settings from the environment (ANDON_*)
	$(BIN)/andon serve

install: $(STAMP) $(ASSETS)

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet uv==$(UV_VERSION)

$(STAMP): $(UV) requirements/dev.lock pyproject.toml
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(VENV)
	$(UV) pip sync --quiet --python $(BIN)/python --require-hashes requirements/dev.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	@# Where PYTHONDONTWRITEBYTECODE is set, nothing would ever be cached and every process
	@# (test workers, CLI runs) would compile pandas, Ibis and SQLAlchemy from source again.
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib > /dev/null || true
	touch $(STAMP)

$(ASSETS): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed to install the web assets" >&2; exit 1; }
	npm ci --silent --no-audit --no-fund
	node scripts/copy-assets.mjs
	touch $(ASSETS)

lock: $(UV) ## Re-resolve the locked dependencies after editing pyproject.toml
	$(UV) pip compile --quiet pyproject.toml --group dev --universal --python-version 3.11 \
		--generate-hashes --no-header -o requirements/dev.lock

clean:
	rm -rf $(VENV) $(TOOLS) node_modules src/andon/web/static/vendor
