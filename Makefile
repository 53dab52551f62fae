# Two commands do the whole set-up: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

ifneq (,$(wildcard .env))
include .env
export
endif

.PHONY: run test lint format messages migrate demo scheduler clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' --config-settings editable_mode=compat
	touch $(STAMP)

# The CJK font printed documents use (static/css/documents.css reads var/fonts/): Noto Sans CJK
# from its PyPI wheel (a pyproject dependency), so Chinese renders on a fresh machine without
# root; the system's fonts (WenQuanYi Zen Hei) are the fallback.
CJK_FONT := var/fonts/NotoSansCJK-Regular.ttc
$(CJK_FONT): $(STAMP)
	mkdir -p $(@D)
	ln -sf "$$($(BIN)/python -c 'import noto_cjk_sans_otc as f; print(f.FONT_PATH)')" $@

run: $(STAMP) $(CJK_FONT)
	$(BIN)/facilities migrate
	$(BIN)/facilities demo
	$(BIN)/facilities serve

# Two passes: every test but the `serial` ones in $(WORKERS) xdist workers (one database each,
# a test file per worker at a time), then the serial ones alone (PostgreSQL restarts, scheduler
# replicas, schemathesis).
WORKERS ?= 2
test: $(STAMP) $(CJK_FONT)
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadfile $(PYTEST_ARGS)
	$(BIN)/python -m pytest --serial-only $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy facilities scheduler
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Extract every translatable string and merge it into the zh_CN and en catalogs.
messages: $(STAMP)
	mkdir -p var
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k NC_:1c,2 -o var/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i var/messages.pot -d facilities/locale -l zh_CN --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel update -i var/messages.pot -d facilities/locale -l en --no-fuzzy-matching --ignore-obsolete

migrate: $(STAMP)
	$(BIN)/facilities migrate

demo: $(STAMP)
	$(BIN)/facilities demo

scheduler: $(STAMP)
	$(BIN)/python -m scheduler

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
