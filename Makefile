# The two set-up commands of the README: `make demo` and `make test`.
# Each creates the virtualenv and installs what it needs, idempotently.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TOOLS_STAMP := tools/node_modules/.installed

.PHONY: demo test lint bench venv tools clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

$(TOOLS_STAMP): tools/package.json
	cd tools && npm install --no-audit --no-fund --silent
	touch $(TOOLS_STAMP)

venv: $(STAMP)

tools: $(TOOLS_STAMP)

demo: $(STAMP)
	$(BIN)/heisttrace demo

test: $(STAMP) $(TOOLS_STAMP)
	bash tools/ensure-system-deps.sh
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -n 2 --dist loadfile -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP) $(TOOLS_STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) tools/node_modules
