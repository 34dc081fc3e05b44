# The two commands a newcomer needs; both do their own set-up on a fresh machine.
#   make demo   - the whole flow on the embedded default (SQLite, demo video), prints a link
#   make test   - installs what the tests need, makes sure MariaDB answers, runs every suite
.PHONY: demo test lint bench-heartbeat bench-admin vendor-hls vendor-axe reliability soak lock

VENV ?= .venv

$(VENV)/.installed: setup.cfg pyproject.toml setup.py
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -c requirements.lock -e '.[test,bench]'
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/autowebinar-wp demo

test:
	.ci/test

# The reliability suite alone (RELIABILITY.md), and its soak at full length: 200 viewers for
# 10 minutes instead of CI's 60 s. Both set up like `make test` (MariaDB, a fresh test DB).
reliability:
	.ci/test tests/reliability

soak:
	RELIABILITY_SOAK_SEC=600 .ci/test tests/reliability/test_soak.py

# Re-resolve the dependencies in a fresh venv and pin them (after changing setup.cfg).
lock:
	rm -rf .lock-venv && python3 -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip
	.lock-venv/bin/pip install --quiet -e '.[test,bench]'
	{ sed -n '/^#/p' requirements.lock; .lock-venv/bin/pip freeze --exclude-editable \
	  | grep -v -i -e '^-e' -e '^#' -e '^autowebinar'; } > requirements.lock.new
	mv requirements.lock.new requirements.lock && rm -rf .lock-venv

# Benchmarks (see BENCHMARKS.md): each one command from a clean clone; MariaDB must answer.
# The WordPress baseline (--wordpress) runs Debian's WordPress under its own nginx + php-fpm.
BENCH_PKGS = wrk nginx php-fpm php-mysql wordpress

bench-heartbeat: $(VENV)/.installed
	missing=$$(for p in $(BENCH_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	  [ -z "$$missing" ] || (apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null)
	$(VENV)/bin/python bench/heartbeat.py --wordpress --plot

bench-admin: $(VENV)/.installed
	$(VENV)/bin/python bench/admin_scale.py --buffer-pool-mb 1024 --plot

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check autowebinar_wp tests bench
	$(VENV)/bin/mypy

# Third-party browser code from the npm registry (see .ci/vendor-npm). hls.js plays HLS where
# the browser has no native HLS; its light build (no DRM, alternate audio or in-stream
# subtitles: captions come from CAPTIONS) and its worker are committed under static/vendor.
HLS_JS_VERSION ?= 1.7.4
vendor-hls:
	.ci/vendor-npm hls.js $(HLS_JS_VERSION) static/vendor/hls.js dist/hls.light.min.js dist/hls.worker.js

# axe-core audits every screen in the browser suite; fetched at test time, not committed.
AXE_CORE_VERSION ?= 4.14.1
vendor-axe:
	.ci/vendor-npm --if-missing axe-core $(AXE_CORE_VERSION) tests/.vendor/axe-core axe.min.js
