# alx.webstack — lab, tests and lint.
#
#   make lab          build the local Docker lab and run playbooks/site.yml on it
#   make lab-destroy  remove every container and network the lab made
#   make test         every test: lint, unit, sanity, Molecule on Debian 12 and 13
#   make lint         ansible-lint and yamllint
#   make unit         pytest for plugins and tools
#   make images       build the lab's base images (only the missing ones)
#   make bench        measure failover, failures, throughput and run times in
#                     the lab, beside baselines; writes BENCHMARKS.md
#
# Every target creates .venv from requirements.txt on first use. The lab and the
# Molecule scenario use the same containers: `make test` rebuilds them from
# scratch and removes them at the end.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# Debian releases the Molecule scenario runs on in `make test`.
DEBIAN_VERSIONS ?= 12 13
# Debian release of `make lab`.
LAB_DEBIAN ?= 12
IMAGE_REPO := alx-webstack/debian
COLLECTION_ROOT := $(CURDIR)/.cache/ansible-test/ansible_collections/alx/webstack

.PHONY: all venv docker images lab lab-destroy test lint unit sanity molecule bench build clean

all: test

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

venv: $(BIN)/.installed

docker:
	bash molecule/resources/ensure-host.sh

images: docker
	bash molecule/resources/images/build.sh $(sort $(DEBIAN_VERSIONS) $(LAB_DEBIAN))

lab: venv docker
	bash molecule/resources/images/build.sh $(LAB_DEBIAN)
	ALX_LAB_IMAGE=$${ALX_LAB_IMAGE:-$(IMAGE_REPO):$(LAB_DEBIAN)} molecule create
	ALX_LAB_IMAGE=$${ALX_LAB_IMAGE:-$(IMAGE_REPO):$(LAB_DEBIAN)} molecule prepare
	ansible-playbook -i inventories/lab playbooks/site.yml
	$(BIN)/python molecule/resources/lab_info.py

lab-destroy: venv docker
	molecule destroy
	-docker network rm alx-webstack-lab 2>/dev/null

lint: venv
	yamllint .
	ansible-lint
	antsibull-changelog lint

unit: venv
	pytest -q tests/unit

# ansible-test needs the collection under ansible_collections/NAMESPACE/NAME,
# and installs its own pinned linters: it gets a virtualenv of its own.
SANITY_VENV := .cache/sanity-venv
$(SANITY_VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(SANITY_VENV)
	$(SANITY_VENV)/bin/pip install --quiet $$(grep -E '^ansible-core==' requirements.txt)
	touch $@

sanity: $(SANITY_VENV)/.installed
	pip_version=$$($(SANITY_VENV)/bin/python -c "import re, ansible_test._internal.python_requirements as r; \
	  print(re.search(r\"pip='([0-9.]+)'\", open(r.__file__).read()).group(1))"); \
	  cache=$$HOME/.ansible/test/cache/get_pip_$${pip_version//./_}.py; \
	  [ -f "$$cache" ] || install -D -m 0644 tests/sanity/get_pip_offline.py "$$cache"
	rm -rf $(COLLECTION_ROOT)
	mkdir -p $(COLLECTION_ROOT)
	git ls-files -z --cached --others --exclude-standard | grep -zv '^\.collections/' \
	  | xargs -0 cp --parents -t $(COLLECTION_ROOT)
	cd $(COLLECTION_ROOT) && git init -q && git add -A \
	  && PATH=$(CURDIR)/$(SANITY_VENV)/bin:$$PATH ansible-test sanity --requirements --color no \
	     --python $$($(CURDIR)/$(SANITY_VENV)/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')

molecule: venv docker
	for v in $(DEBIAN_VERSIONS); do \
	  bash molecule/resources/images/build.sh $$v; \
	  echo "=== Molecule on Debian $$v"; \
	  ALX_LAB_IMAGE=$(IMAGE_REPO):$$v molecule test; \
	done

test: lint unit sanity molecule

# Not part of `make test`: figures, not pass/fail. BENCH_ARGS passes options to
# bench/bench.py, e.g. BENCH_ARGS="--only failover --trials 3".
$(BIN)/.bench-installed: bench/requirements.txt $(BIN)/.installed
	$(BIN)/pip install --quiet -r bench/requirements.txt
	touch $@

bench: $(BIN)/.bench-installed docker
	$(BIN)/python bench/bench.py $(BENCH_ARGS)

build: venv
	ansible-galaxy collection build --force --output-path build/

clean:
	rm -rf $(VENV) .cache build tests/output
