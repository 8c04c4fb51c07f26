# ModelHub: `make run` starts the hub, `make test` runs the whole test suite.
#
# Virtualenvs are (re)installed only when their requirements change (stamp files inside them).
# Variables: HUB_PORT, HUB_DATA_DIR (see README), PYTHON (the interpreter that creates the
# virtualenvs, Python 3.11), PYTEST_ARGS (extra pytest arguments), ALLOW_NO_TESTS=1 (pytest's
# "no tests collected", exit 5, counts as success: for marker-selected runs).

PYTHON ?= python3
VENV ?= .venv
VENV_HF0 ?= .venv-hf0
HF0_REQUIREMENT ?= huggingface_hub==0.36.2
PYTEST_ARGS ?=
ALLOW_NO_TESTS ?=

PY := $(VENV)/bin/python
PIP_INSTALL = -m pip install --disable-pip-version-check --progress-bar off
HF0_STAMP := $(VENV_HF0)/.installed-$(subst ==,-,$(HF0_REQUIREMENT))
# The Xet client matrix (tests/compat/test_xet_matrix.py): older huggingface_hub + hf-xet pairs,
# each in a venv of its own like .venv-hf0. The newest pair is $(VENV); 0.36 + hf-xet is .venv-hf0
# (hf-xet is a dependency of huggingface_hub 0.36 on x86_64/arm64).
XET_A_REQUIREMENTS ?= huggingface_hub==1.26.1 hf-xet==1.5.2
XET_B_REQUIREMENTS ?= huggingface_hub==1.33.0 hf-xet==1.6.0
XET_A_STAMP := .venv-xet-a/.installed-$(subst ==,-,$(subst $() ,_,$(XET_A_REQUIREMENTS)))
XET_B_STAMP := .venv-xet-b/.installed-$(subst ==,-,$(subst $() ,_,$(XET_B_REQUIREMENTS)))

.PHONY: run test venv venv-hf0 venv-xet lint check-tools clean-venvs bench

run: $(VENV)/.installed-run
	$(PY) scripts/run_hub.py

test: $(VENV)/.installed-dev $(HF0_STAMP) $(XET_A_STAMP) $(XET_B_STAMP) check-tools
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ] && [ "$(ALLOW_NO_TESTS)" = 1 ]; then \
		echo "make test: no test matched PYTEST_ARGS (allowed by ALLOW_NO_TESTS=1)"; rc=0; \
	fi; exit $$rc

venv: $(VENV)/.installed-dev

venv-hf0: $(HF0_STAMP)

venv-xet: $(XET_A_STAMP) $(XET_B_STAMP)

# mypy covers the domain layers: the Django-free ones (git, LFS, weights, Xet, cards, the
# object store and crypto) and, with django-stubs, the gate, services, selectors, the doors and
# the policy. import-linter holds the import contract of pyproject.toml.
MYPY_PATHS := repos/git repos/lfs repos/weights repos/cards.py repos/links.py repos/xet repos/objects \
	repos/snippets.py repos/tabular hub/units.py repos/gate.py repos/events.py repos/policy repos/services repos/selectors repos/token_scopes.py repos/reviews \
	accounts/names.py accounts/permissions.py accounts/services accounts/selectors.py \
	jobs/models.py jobs/services jobs/snapshots.py jobs/tasks.py jobs/bot.py jobs/pr_evaluation.py jobs/selectors.py jobs/fine_tuning.py jobs/curves.py \
	repos/file_security.py safety/models.py safety/scanning.py safety/selectors.py safety/rules.py safety/services.py \
	safety/subscribers.py safety/tasks.py safety/scanners/antivirus.py
lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	HUB_DATA_DIR=$${HUB_DATA_DIR:-$$(mktemp -d)} $(VENV)/bin/mypy $(MYPY_PATHS)
	$(VENV)/bin/lint-imports --no-cache

# Performance ratios against side-by-side baselines (see bench/README.md); not part of `test`.
bench: $(VENV)/.installed-dev
	@rc=0; for s in download upload metadata git discussions tensor_diff; do $(PY) -m bench.$$s || rc=1; done; exit $$rc

check-tools:
	@scripts/check_tools.sh

# torch is pinned in requirements.txt and resolved in the same pip command as everything
# else, so pip takes the CPU wheel instead of a multi-GB CUDA build.
$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
		{ echo "ModelHub needs Python 3.11 (the pinned torch wheel); set PYTHON=python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-run: requirements.txt | $(PY)
	$(PY) $(PIP_INSTALL) -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(PY)
	$(PY) $(PIP_INSTALL) -r requirements-dev.txt
	touch $@ $(VENV)/.installed-run

# The 0.x client (what transformers 4.x uses), for compatibility tests marked `hf0`.
$(HF0_STAMP):
	rm -f $(VENV_HF0)/.installed-*
	test -x $(VENV_HF0)/bin/python || $(PYTHON) -m venv $(VENV_HF0)
	$(VENV_HF0)/bin/python $(PIP_INSTALL) "$(HF0_REQUIREMENT)"
	touch $@

# One venv per Xet matrix pair (name: the target's directory), rebuilt when its pins change.
define xet_venv
	rm -f $(dir $@).installed-*
	test -x $(dir $@)bin/python || $(PYTHON) -m venv $(dir $@)
	$(dir $@)bin/python $(PIP_INSTALL) $(foreach r,$(1),"$(r)")
	touch $@
endef

$(XET_A_STAMP):
	$(call xet_venv,$(XET_A_REQUIREMENTS))

$(XET_B_STAMP):
	$(call xet_venv,$(XET_B_REQUIREMENTS))

clean-venvs:
	rm -rf $(VENV) $(VENV_HF0) .venv-xet-a .venv-xet-b
