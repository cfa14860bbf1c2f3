# Two commands for a new user:  make run  (the bot)   and   make test  (everything CI runs).
# Each sets up what it needs from a fresh clone: virtual env, install, compiled catalogs.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
POT := locales/messages.pot
PO_FILES := $(wildcard locales/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

.PHONY: run test lint typecheck pytest i18n extract update-po compile bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Compiled catalogs are build products (not committed). Fuzzy entries are left out on
# purpose: a changed English question shows in English until a translator confirms it.
locales/%/LC_MESSAGES/messages.mo: locales/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --domain messages --input-file $< --output-file $@ --statistics

compile: $(MO_FILES)

## run: the bot on Telegram when TELEGRAM_BOT_TOKEN is set (in .env), else the terminal chat.
## With no configuration at all it starts in demo mode with throwaway keys.
run: $(STAMP) compile
	@if [ -f .env ] || [ -n "$$RECIPIENT_PUBLIC_KEYS" ] || [ -n "$$DEMO" ]; then \
		$(BIN)/testimony-bot run; \
	else \
		echo "No .env found: starting the terminal chat in DEMO mode (throwaway keys)."; \
		DEMO=1 $(BIN)/testimony-bot run; \
	fi

## test: lint, type-check and the whole test suite (slow tests included), as CI does.
test: $(STAMP) compile lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check bot storage tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) compile
	$(BIN)/pytest -q

## i18n: extract every string (code and flow files), update the .po files, compile them.
i18n: extract update-po compile

extract: $(STAMP)
	$(BIN)/pybabel extract --mapping-file babel.cfg --keywords N_ --keywords NP_:1,2 --keywords NC_:1c,2 \
		--add-comments Translators: --sort-by-file --project testimony-bot \
		--copyright-holder "testimony-bot contributors" --no-wrap --output-file $(POT) .

update-po: $(STAMP)
	@for po in $(PO_FILES); do \
		$(BIN)/pybabel update --domain messages --input-file $(POT) --output-file $$po \
			--locale $$(basename $$(dirname $$(dirname $$po))) --no-wrap --previous; \
	done

bench: $(STAMP) compile
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache $(MO_FILES)
