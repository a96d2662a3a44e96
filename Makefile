# alx.webstack — lab, tests and lint.
#
#   make lab          build the local Docker lab, or bring it back from any state
#                     (stopped, some containers gone, another LAB_DEBIAN), and
#                     run playbooks/site.yml on it
#   make lab-status   each host's container and who holds each VIP
#   make lab-stop     stop the lab's containers, keeping them (CPU back)
#   make lab-start    start them again and wait until both VIPs serve
#   make lab-destroy  remove every container and network the lab made
#   make lab-test     `make lab` from each of those states (about half an hour)
#   make test         every test: lint, unit, unit and sanity on each supported
#                     ansible-core, Molecule on Debian 12 and 13 (the drills on
#                     12 only, the first check mode on 13); what CI runs
#   make test-all     the same with the drills on Debian 12 and 13
#   make lint         ansible-lint, yamllint and the documentation checks
#   make docs         write the role READMEs' option tables from the argument specs
#   make unit         pytest for plugins and tools
#   make rules        check and unit-test the alert rules with promtool
#   make compat       unit and sanity tests on every supported ansible-core
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
# One place for Molecule's record of the scenario, whichever target runs it
# (`make lab` drops it and lets Docker's state decide).
export MOLECULE_EPHEMERAL_DIRECTORY := $(CURDIR)/.cache/molecule/default
# Debian releases the Molecule scenario runs on in `make test`, and those of
# them on which it also runs the long operator drills (tests marked `drill`:
# whole-stack runs with another inventory, playbook runs under load, faults
# held until their alerts fire) and the input refusals (tests marked
# `refusal`: decided on the controller, the same on every release); elsewhere
# they are skipped, to keep `make test` within its 40-minute budget. `make
# test-all` runs them everywhere.
DEBIAN_VERSIONS ?= 12 13
DRILL_DEBIAN ?= 12
# Releases on which the scenario starts with `site.yml --check --diff` on the
# fresh lab: by default those without the drills (the drills run check mode on
# the converged lab), or every release when all of them run the drills.
CHECK_DEBIAN ?= $(or $(filter-out $(DRILL_DEBIAN),$(DEBIAN_VERSIONS)),$(DEBIAN_VERSIONS))
# Debian release of `make lab`.
LAB_DEBIAN ?= 12
IMAGE_REPO := alx-webstack/debian
COLLECTION_ROOT := $(CURDIR)/.cache/ansible-test/ansible_collections/alx/webstack

.PHONY: all venv docker docs images lab lab-status lab-start lab-stop lab-test lab-destroy test test-all lint unit rules unit-core sanity compat molecule sslyze bench build clean

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

# `make lab` converges from whatever Docker has: running containers are used,
# stopped ones started, missing ones created, those of another image replaced.
lab: venv docker
	bash molecule/resources/images/build.sh $(LAB_DEBIAN)
	ALX_LAB_IMAGE=$${ALX_LAB_IMAGE:-$(IMAGE_REPO):$(LAB_DEBIAN)} $(BIN)/python -m labkit up

lab-status lab-start lab-stop: venv docker
	ALX_LAB_IMAGE=$${ALX_LAB_IMAGE:-$(IMAGE_REPO):$(LAB_DEBIAN)} $(BIN)/python -m labkit $(@:lab-%=%)

# `make lab` from every state a lab can be left in: stopped, some or all
# containers removed, another image. Rebuilds the lab several times (about half
# an hour), so it is not part of `make test`.
lab-test: venv docker
	bash molecule/resources/images/build.sh $(LAB_DEBIAN)
	ALX_LAB_IMAGE=$${ALX_LAB_IMAGE:-$(IMAGE_REPO):$(LAB_DEBIAN)} pytest -v -s -p no:cacheprovider tests/lab

lab-destroy: venv docker
	molecule destroy
	-docker network rm alx-webstack-lab 2>/dev/null

# Last, the plugins' and roles' documentation as Galaxy and docsite builders
# read it (markup, references, versions), from the checkout's collection path,
# and the role READMEs' option tables against the argument specs.
lint: venv
	yamllint .
	ansible-lint
	antsibull-changelog lint
	cd .collections/ansible_collections/alx/webstack && antsibull-docs lint-collection-docs --plugin-docs .
	$(BIN)/python -m tools.role_docs --check

# The option tables of the role READMEs, from meta/argument_specs.yml.
docs: venv
	$(BIN)/python -m tools.role_docs

unit: venv
	pytest -q tests/unit

# The alert rules, rendered with the monitoring role's defaults, checked and
# unit-tested with promtool (tests/rules). promtool comes from Debian's
# prometheus package, unpacked here: nothing is installed or started.
PROMTOOL := .cache/prometheus/usr/bin/promtool
RENDERED_RULES := .cache/rules/alx-webstack.rules.yml
$(PROMTOOL):
	mkdir -p .cache/prometheus
	cd .cache/prometheus && rm -f prometheus_*.deb \
	  && { apt-get download prometheus 2>/dev/null || { apt-get update -qq && apt-get download prometheus; }; } \
	  && dpkg-deb -x prometheus_*.deb .
	touch $@

rules: venv $(PROMTOOL)
	mkdir -p $(dir $(RENDERED_RULES))
	ansible localhost -i localhost, -c local -e ansible_python_interpreter=$(CURDIR)/$(BIN)/python \
	  -e @roles/monitoring/defaults/main.yml -m ansible.builtin.template \
	  -a "src=roles/monitoring/templates/alerts.rules.yml.j2 dest=$(CURDIR)/$(RENDERED_RULES) mode=0644" >/dev/null
	$(PROMTOOL) check rules $(RENDERED_RULES)
	$(PROMTOOL) test rules tests/rules/alx-webstack.test.yml

# ansible-core releases that meta/runtime.yml admits and that install on this
# controller's Python (3.11 takes up to 2.19), oldest first: `make compat` runs
# the unit and sanity tests on each. `make unit` and `make sanity` use the
# version pinned in requirements.txt, or ANSIBLE_CORE=X.Y.Z.
CORE_VERSIONS ?= 2.17.14 2.18.19 2.19.14
# Sanity takes minutes per release: `make compat` runs it on the oldest and the
# newest (the GitHub workflow on all of them).
SANITY_CORE_VERSIONS ?= $(firstword $(CORE_VERSIONS)) $(lastword $(CORE_VERSIONS))
ANSIBLE_CORE ?= $(shell sed -n 's/^ansible-core==//p' requirements.txt)
# ansible-test needs the collection under ansible_collections/NAMESPACE/NAME,
# and installs its own pinned linters: each ansible-core gets a virtualenv of
# its own.
CORE_VENV = .cache/core-$(ANSIBLE_CORE)
$(CORE_VENV)/.installed:
	$(PYTHON) -m venv $(CORE_VENV)
	$(CORE_VENV)/bin/pip install --quiet ansible-core==$(ANSIBLE_CORE) \
	  $$(grep -E '^(pytest|PyMySQL)==' requirements.txt)
	touch $@

# The documentation tool's tests (tests/unit/tools) need antsibull-docs and
# do not depend on ansible-core: `make unit` runs them.
unit-core: $(CORE_VENV)/.installed
	@echo "=== unit tests on ansible-core $(ANSIBLE_CORE)"
	$(CORE_VENV)/bin/python -m pytest -q -p no:cacheprovider --ignore=tests/unit/tools tests/unit

sanity: $(CORE_VENV)/.installed
	@echo "=== sanity on ansible-core $(ANSIBLE_CORE)"
	pip_version=$$($(CORE_VENV)/bin/python -c "import re, ansible_test._internal.python_requirements as r; \
	  print(re.search(r\"pip='([0-9.]+)'\", open(r.__file__).read()).group(1))"); \
	  cache=$$HOME/.ansible/test/cache/get_pip_$${pip_version//./_}.py; \
	  [ -f "$$cache" ] || install -D -m 0644 tests/sanity/get_pip_offline.py "$$cache"
	rm -rf $(COLLECTION_ROOT)
	mkdir -p $(COLLECTION_ROOT)
	git ls-files -z --cached --others --exclude-standard | grep -zv '^\.collections/' \
	  | xargs -0 cp --parents -t $(COLLECTION_ROOT)
	cd $(COLLECTION_ROOT) && git init -q && git add -A \
	  && PATH=$(CURDIR)/$(CORE_VENV)/bin:$$PATH ansible-test sanity --requirements --color no \
	     --python $$($(CURDIR)/$(CORE_VENV)/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')

# `make test` leaves out the unit run on the pinned ansible-core: `make unit` is it.
UNIT_CORE_VERSIONS ?= $(CORE_VERSIONS)
compat:
	for v in $(UNIT_CORE_VERSIONS); do $(MAKE) --no-print-directory unit-core ANSIBLE_CORE=$$v; done
	for v in $(SANITY_CORE_VERSIONS); do $(MAKE) --no-print-directory sanity ANSIBLE_CORE=$$v; done

# The TLS scanner of the integration tests, in a virtualenv of its own (its
# cryptography pin clashes with the collections').
SSLYZE_VENV := .cache/sslyze
$(SSLYZE_VENV)/.installed: tests/requirements-sslyze.txt
	$(PYTHON) -m venv $(SSLYZE_VENV)
	$(SSLYZE_VENV)/bin/pip install --quiet -r tests/requirements-sslyze.txt
	touch $@

sslyze: $(SSLYZE_VENV)/.installed

molecule: venv docker sslyze
	for v in $(DEBIAN_VERSIONS); do \
	  bash molecule/resources/images/build.sh $$v; \
	  echo "=== Molecule on Debian $$v"; \
	  skip=1; for d in $(DRILL_DEBIAN); do [ "$$d" = "$$v" ] && skip=0; done; \
	  check=; for d in $(CHECK_DEBIAN); do [ "$$d" = "$$v" ] && check=check; done; \
	  half="all $$check"; [ "$$v" = "$(LAB_SET_UP)" ] && half=verify; \
	  ALX_SKIP_DRILLS=$$skip ALX_LAB_IMAGE=$(IMAGE_REPO):$$v bash molecule/resources/sequence.sh $$half; \
	done

# The first release's lab is set up (created, prepared, converged and run
# again for idempotence: nothing there is timed) while lint, unit, rules and
# compat run, and the other releases' images are built where missing; their
# logs follow. Then its verify runs alone, and the other releases' whole
# sequence after it.
# Called through a variable of its own, so that `make -n test` prints the line
# that starts the lab instead of running it.
SUBMAKE = $(MAKE)
FIRST_DEBIAN := $(firstword $(DEBIAN_VERSIONS))
OTHER_DEBIAN := $(wordlist 2,$(words $(DEBIAN_VERSIONS)),$(DEBIAN_VERSIONS))
test: venv docker sslyze
	bash molecule/resources/images/build.sh $(FIRST_DEBIAN)
	mkdir -p .cache
	: > .cache/images.log; images=; \
	  if [ -n "$(OTHER_DEBIAN)" ]; then \
	    bash molecule/resources/images/build.sh $(OTHER_DEBIAN) > .cache/images.log 2>&1 & images=$$!; \
	  fi; \
	  check=; for d in $(CHECK_DEBIAN); do [ "$$d" = "$(FIRST_DEBIAN)" ] && check=check; done; \
	  ALX_LAB_IMAGE=$(IMAGE_REPO):$(FIRST_DEBIAN) bash molecule/resources/sequence.sh setup $$check \
	  > .cache/lab-setup.log 2>&1 & lab=$$!; \
	  status=0; $(SUBMAKE) --no-print-directory lint unit rules compat \
	    UNIT_CORE_VERSIONS="$(filter-out $(ANSIBLE_CORE),$(CORE_VERSIONS))" || status=$$?; \
	  wait $$lab || status=$$?; \
	  if [ -n "$$images" ]; then \
	    wait $$images || status=$$?; \
	    echo "=== Images of Debian $(OTHER_DEBIAN) (beside the checks above)"; \
	    cat .cache/images.log; \
	  fi; \
	  echo "=== Molecule on Debian $(FIRST_DEBIAN): setup (beside the checks above)"; \
	  cat .cache/lab-setup.log; \
	  if [ $$status -ne 0 ]; then molecule destroy; exit $$status; fi
	$(MAKE) --no-print-directory molecule LAB_SET_UP=$(FIRST_DEBIAN)

test-all:
	$(MAKE) test DRILL_DEBIAN="$(DEBIAN_VERSIONS)" CHECK_DEBIAN="$(DEBIAN_VERSIONS)"

# Not part of `make test`: figures, not pass/fail. BENCH_ARGS passes options to
# python -m bench, e.g. BENCH_ARGS="--only failover --trials 3".
$(BIN)/.bench-installed: bench/requirements.txt $(BIN)/.installed
	$(BIN)/pip install --quiet -r bench/requirements.txt
	touch $@

bench: $(BIN)/.bench-installed docker
	$(BIN)/python -m bench $(BENCH_ARGS)

build: venv
	ansible-galaxy collection build --force --output-path build/

clean:
	rm -rf $(VENV) .cache build tests/output
