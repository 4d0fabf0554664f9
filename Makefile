# Two set-up commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1:8000
# Folder holding detector files for servers without internet (here: ../shared/weights).
WEIGHTS_DIR ?=
PYTEST_ARGS ?=

PYODIDE_DIR := static/vendor/pyodide
# What the browser loads (the .map because collectstatic follows pyodide.js's sourceMappingURL).
PYODIDE_FILES := pyodide.js pyodide.js.map pyodide.asm.js pyodide.asm.wasm python_stdlib.zip pyodide-lock.json
KATEX_DIR := static/vendor/katex

.PHONY: run dev serve install pyodide katex migrate detector cnn static test e2e browser lint format bench messages clean

# $(call timed,what,command): run a step and print how long it took.
define timed
	@start=$$(date +%s%N); $(2); status=$$?; \
	  printf '  %-28s %6.1f s\n' "$(1)" "$$(( ($$(date +%s%N) - start) / 1000000 ))e-3"; \
	  exit $$status
endef

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-nodeps.txt | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -r requirements-nodeps.txt
	touch $@

install: $(VENV)/.installed $(PYODIDE_DIR)/.installed $(KATEX_DIR)/.installed

# Pyodide (Python compiled to WebAssembly: the people exercise runs the student's code
# in their browser) from the npm registry, pinned in package.json/package-lock.json,
# copied to static/vendor/pyodide/ (git-ignored) and served by the portal: no CDN.
$(PYODIDE_DIR)/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for Pyodide: apt-get install npm"; exit 1; }
	npm ci --ignore-scripts --no-audit --no-fund --silent
	mkdir -p $(PYODIDE_DIR)
	cp $(addprefix node_modules/pyodide/,$(PYODIDE_FILES)) $(PYODIDE_DIR)/
	touch $@

pyodide: $(PYODIDE_DIR)/.installed

# KaTeX (same npm install): node runs node_modules/katex to typeset the lessons'
# formulas on the server (demos/lessons/formulas.py); the page loads only its
# stylesheet and fonts, copied to static/vendor/katex/ (no script, no CDN).
$(KATEX_DIR)/.installed: $(PYODIDE_DIR)/.installed
	mkdir -p $(KATEX_DIR)
	cp node_modules/katex/dist/katex.min.css $(KATEX_DIR)/
	cp -r node_modules/katex/dist/fonts $(KATEX_DIR)/
	touch $@

katex: $(KATEX_DIR)/.installed

migrate: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py createcachetable
	$(BIN)/python manage.py load_lessons

# The default detector (YOLOX-Nano + PicoDet-S, fused): imported from WEIGHTS_DIR, else downloaded;
# when neither works the portal serves with OpenCV's HOG detector.
detector: install
ifneq ($(strip $(WEIGHTS_DIR)),)
	@$(BIN)/python manage.py models import "$(WEIGHTS_DIR)" \
	  || echo "Could not import detectors from $(WEIGHTS_DIR); serving with opencv-hog."
else
	@$(BIN)/python manage.py models pull --default \
	  || echo "Default detector not downloaded (no internet?); serving with opencv-hog. Offline: make run WEIGHTS_DIR=path/to/weights"
endif

# The feature-map lesson's EfficientNet-Lite0 as ONNX (var/models/exports/) and the
# architecture lessons' numbers (var/cache/catalogues/), so web workers serve them
# without importing torch; no-ops when they are already there.
cnn: install
	@$(BIN)/python manage.py export_onnx \
	  || echo "EfficientNet-Lite0 not exported; the lesson runs it on torch (more memory per worker)."
	@$(BIN)/python manage.py fill_catalogues \
	  || echo "Architecture numbers not computed; the first request computes them."

# Static files for whitenoise (hashed, compressed) under var/staticfiles.
static: install
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0

# The portal as a class uses it: DEBUG off, gunicorn with gunicorn.conf.py (workers
# from the cores), static files through whitenoise, styled 404/500 pages; beside it
# the training runner (training and transfer runs never train in a web worker, so
# restarting workers never waits for them), stopped with the server.
run:
	@echo "Setting up (each step is timed):"
	$(call timed,venv and packages,$(MAKE) --no-print-directory --quiet install)
	$(call timed,database and lessons,$(MAKE) --no-print-directory --quiet migrate)
	$(call timed,default detector,$(MAKE) --no-print-directory --quiet detector)
	$(call timed,ImageNet CNN as ONNX,$(MAKE) --no-print-directory --quiet cnn)
	$(call timed,static files,$(MAKE) --no-print-directory --quiet static)
	@echo "Portal on http://$(HOST)/  — create an admin with: $(BIN)/python manage.py createsuperuser"
	@$(BIN)/python manage.py run_training_worker & runner=$$!; \
	  trap 'kill $$runner 2>/dev/null; wait $$runner' EXIT; \
	  GUNICORN_BIND=$(HOST) $(BIN)/gunicorn -c gunicorn.conf.py

# The developer loop: runserver with DEBUG (technical error pages, auto-reload), and
# the training runner beside it.
dev: migrate
	@PORTAL_DEBUG=1 $(BIN)/python manage.py run_training_worker & runner=$$!; \
	  trap 'kill $$runner 2>/dev/null; wait $$runner' EXIT; \
	  PORTAL_DEBUG=1 $(BIN)/python manage.py runserver $(HOST)

# Debian's chromium (Playwright cannot download a browser here), Korean fonts and the
# emoji font (the home page's cards; screenshots show empty boxes without it).
browser:
	@command -v chromium >/dev/null && fc-list | grep -qi "noto sans cjk" && fc-list | grep -qi "noto color emoji" \
	  || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk fonts-noto-color-emoji >/dev/null)

test: install browser
	$(BIN)/python -m pytest -m "" $(PYTEST_ARGS)

e2e: install browser
	$(BIN)/python -m pytest -m e2e $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python bench/bench_detectors.py

# Rebuild the catalogs: extract msgids, fill Korean from locale/fragments/*.ko.po,
# compile. Needs Debian's gettext; the compiled .mo files are committed.
messages: install
	$(BIN)/python manage.py makemessages -l ko -l en --no-location \
	  --ignore=.venv --ignore=var --ignore='tests/*' --ignore='bench/*' --ignore=node_modules --ignore='static/vendor/*'
	mkdir -p var && msgcat --use-first locale/fragments/*.ko.po -o var/compendium.po
	msgmerge -q -N -C var/compendium.po -o locale/ko/LC_MESSAGES/django.po \
	  locale/ko/LC_MESSAGES/django.po locale/ko/LC_MESSAGES/django.po
	$(BIN)/python manage.py compilemessages --ignore=.venv

clean:
	rm -rf var .pytest_cache
