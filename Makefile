# Every target creates .venv when it is missing and installs into it, so the
# README's first two commands (`make demo`, `make test`) work on a fresh clone.
# `make demo` installs only what the demo needs (the core, SciPy for the oracle's LP and
# matplotlib for the plots; the shipped agents run from NumPy weights), not torch or Ray.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
EXTRAS ?= dev,plot,train
DEMO_EXTRAS ?= plot
comma  := ,
stamp   = $(VENV)/.installed-$(subst $(comma),-,$(1))
STAMP  := $(call stamp,$(EXTRAS))

.PHONY: demo test test-slow bench lint install clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel

$(VENV)/.installed-%: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[$(subst -,$(comma),$*)]'
	@touch $@

install: $(STAMP)

demo: $(call stamp,$(DEMO_EXTRAS))
	$(VENV)/bin/gridshift demo

test: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

bench: $(STAMP)
	$(VENV)/bin/gridshift bench all --out bench-results

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) bench-results .pytest_cache
