# The two commands a newcomer needs; both do their own set-up on a fresh machine.
#   make demo   - the whole flow on the embedded default (SQLite, demo video), prints a link
#   make test   - installs what the tests need, makes sure MariaDB answers, runs every suite
.PHONY: demo test lint bench

VENV ?= .venv

$(VENV)/.installed: setup.cfg pyproject.toml setup.py
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test,bench]'
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/autowebinar-wp demo

test:
	.ci/test

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check autowebinar_wp tests bench
	$(VENV)/bin/mypy
