# The two commands: `make demo` (the main job on a simulated feed) and `make test` (the whole suite).
# Both create the virtual environment and install what is needed first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-unit lint messages bench user-path-bench ui-bench api-bench dashboards-bench scale-bench stream-bench optimise-bench savings-bench ml-bench freshness ui install clean

demo: $(STAMP)
	$(BIN)/domotic demo

# The real servers the tests need (PostgreSQL, MariaDB, Mosquitto, Samba, OpenSSH sftp) are
# started on 127.0.0.1 when missing, and what was started is stopped afterwards.
test: $(STAMP)
	$(BIN)/python scripts/test_servers.py run -- $(BIN)/python -m pytest

# ruff: lint (pyflakes, pycodestyle, isort, bugbear, pyupgrade, simplify) and format; mypy on the pure
# packages (contracts, transform, optimise); both configured in pyproject.toml
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# the pure tests alone, no server started (a unit test that starts one fails): under a minute
test-unit: $(STAMP)
	DOMOTIC_UNIT_ONLY=1 $(BIN)/python -m pytest -m unit -n 2

# the dashboards' catalogues: the marked messages extracted, then merged into each language's .po (new
# messages come in empty, changed ones fuzzy, and the catalogue test fails until they are translated)
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output -o domotic_assets/dashboards/locale/messages.pot .
	$(BIN)/pybabel update --ignore-obsolete -i domotic_assets/dashboards/locale/messages.pot -d domotic_assets/dashboards/locale

bench: $(STAMP)
	$(BIN)/python benchmarks/user_path_bench.py
	$(BIN)/python benchmarks/bronze_bench.py
	$(BIN)/python benchmarks/silver_bench.py --keep .domotic-bench
	$(BIN)/python benchmarks/gold_bench.py --silver .domotic-bench
	$(BIN)/python benchmarks/api_bench.py --silver .domotic-bench
	$(BIN)/python benchmarks/dashboards_bench.py --silver .domotic-bench
	rm -rf .domotic-bench
	$(BIN)/python benchmarks/sources_bench.py
	$(BIN)/python benchmarks/stream_bench.py
	$(BIN)/python benchmarks/optimise_bench.py
	$(BIN)/python benchmarks/realised_bench.py
	$(BIN)/python benchmarks/realised_bench.py --real --month 2008-06
	$(BIN)/python benchmarks/realised_bench.py --real --month 2009-01
	$(BIN)/python benchmarks/emhass_bench.py
	$(BIN)/python benchmarks/ml_bench.py

# the API under load (Debian's wrk, installed when missing) on the 70-day warehouse, then on its Gold
# copied to 100 apartments; builds that warehouse first (about 4 minutes)
api-bench: $(STAMP)
	$(BIN)/python benchmarks/silver_bench.py --keep .domotic-bench
	$(BIN)/python benchmarks/gold_bench.py --silver .domotic-bench
	$(BIN)/python benchmarks/api_bench.py --silver .domotic-bench
	rm -rf .domotic-bench

# the energy dashboard in headless chromium on the same 70-day warehouse (built first, about 4 minutes)
dashboards-bench: $(STAMP)
	$(BIN)/python benchmarks/silver_bench.py --keep .domotic-bench
	$(BIN)/python benchmarks/gold_bench.py --silver .domotic-bench
	$(BIN)/python benchmarks/dashboards_bench.py --silver .domotic-bench
	rm -rf .domotic-bench

# the 70-day history through Bronze and Silver as a user runs it (`domotic run --select bronze`, then silver),
# against a raw binary COPY of the same rows (about 3 minutes with the simulation)
user-path-bench: $(STAMP)
	$(BIN)/python benchmarks/user_path_bench.py

# the Dagster UI with three years of daily partitions materialized: the asset graph and a partitions page in
# headless chromium, beside the same pages with no history (about 10 minutes, most of it writing the history)
ui-bench: $(STAMP)
	$(BIN)/python benchmarks/ui_bench.py

# the pipeline as a user runs it (`domotic run`) on 200 apartments beside 2, per apartment-day, a sensor
# tick over both landings, and the API under load on both warehouses (about 30 minutes)
scale-bench: $(STAMP)
	$(BIN)/python benchmarks/scale_bench.py

stream-bench: $(STAMP)
	$(BIN)/python benchmarks/stream_bench.py

optimise-bench: $(STAMP)
	$(BIN)/python benchmarks/optimise_bench.py

# savings as they would be realised (30 days, state of charge carried, MPC), then EMHASS side by side
# (installed on first use into .venv-emhass/, never a dependency of the platform)
savings-bench: $(STAMP)
	$(BIN)/python benchmarks/realised_bench.py
	$(BIN)/python benchmarks/realised_bench.py --real --month 2008-06
	$(BIN)/python benchmarks/realised_bench.py --real --month 2009-01
	$(BIN)/python benchmarks/emhass_bench.py

ml-bench: $(STAMP)
	$(BIN)/python benchmarks/ml_bench.py

freshness: $(STAMP)
	$(BIN)/python benchmarks/freshness_bench.py --minutes 15

ui: $(STAMP)
	$(BIN)/domotic ui

install: $(STAMP)

$(STAMP): pyproject.toml setup.py scripts/bootstrap.sh domotic_assets/dashboards/assets/package-lock.json
	PYTHON=$(PYTHON) VENV=$(VENV) bash scripts/bootstrap.sh
	touch $(STAMP)

clean:
	rm -rf $(VENV) .venv-emhass .domotic .domotic-test
