# The two commands a new user needs: `make run` and `make test`. Each builds its own virtualenv from
# the pinned requirements (re-installing only when a requirements file changes).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP_FLAGS ?= --disable-pip-version-check -q

.PHONY: run test bench bench-peers bundle clean venv loadtest chaos

$(VENV)/.installed-run: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_FLAGS) -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_FLAGS) -r requirements-dev.txt
	touch $@ $(VENV)/.installed-run

venv: $(VENV)/.installed-dev

## Start web (gunicorn), worker and scheduler on embedded defaults; prints the URL.
run: $(VENV)/.installed-run
	$(PY) -m scripts.run

## Run the whole test suite against real PostgreSQL and Redis (embedded ones when absent).
test: $(VENV)/.installed-dev
	$(PY) -m pytest $(PYTEST_ARGS)

## Benchmarks: each prints JSON (see README, Benchmarks).
bench: $(VENV)/.installed-dev bench-peers
	$(PY) -m bench.sections
	$(PY) -m bench.upload
	$(PY) -m bench.chain_storm
	$(PY) -m bench.analysis
	$(PY) -m bench.chat
	$(PY) -m bench.export
	$(PY) -m bench.ui
	$(PY) -m bench.rules
	$(PY) -m bench.revision

## Bench-only peers (LiteLLM's Router, for bench.chain_storm's comparison) in their own virtualenv.
## Pinned to 1.80.0: never 1.82.7 or 1.82.8.
PEERS_VENV ?= .venv-peers
bench-peers: $(PEERS_VENV)/.installed
$(PEERS_VENV)/.installed: requirements-peers.txt
	test -x $(PEERS_VENV)/bin/python || $(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/python -m pip install $(PIP_FLAGS) -r requirements-peers.txt
	touch $@

## 200 reviewers for 2 minutes on loopback (locust), then throughput against a bare Flask hello; prints JSON.
loadtest: $(VENV)/.installed-dev
	timeout 900 $(PY) -m bench.loadtest $(LOADTEST_ARGS)

## Faults one at a time (worker killed, Redis restarted, database down 30 s, S3 errors, throttling storm); prints JSON.
chaos: $(VENV)/.installed-dev
	timeout 900 $(PY) -m bench.chaos $(CHAOS_ARGS)

## The Elastic Beanstalk source bundle: the committed tree at HEAD (eb deploy --staged, or upload it).
BUNDLE ?= dist/ai-prism.zip
bundle:
	mkdir -p $(dir $(BUNDLE))
	git archive --format=zip -o $(BUNDLE) HEAD
	@ls -l $(BUNDLE)

clean:
	rm -rf $(VENV) dist .pytest_cache
