# Two commands for a fresh machine: `make demo` and `make test`. Both create .venv and install into it.
# `make test-runtime` checks the runtime on its own: a separate torch-free .venv-runtime.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DATA   ?= ../shared/data
PIP    := $(BIN)/pip install --quiet --disable-pip-version-check -c train/constraints.txt

.PHONY: demo test test-runtime tiny-model test-fast train tune lpo lso cv-pairs fewshot card bench bench-dask soak venv venv-runtime wheel wheelhouse wheelhouse-all wheelhouse-dask clean check-textbook verdict-oof

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Runtime only (numpy, onnxruntime, rdkit, click): what a user needs to predict.
$(VENV)/.runtime: $(BIN)/python pyproject.toml train/constraints.txt
	$(PIP) -e .
	touch $@

# Everything: runtime + training (torch==2.13.0 CPU, onnx, pandas) + pytest + matplotlib (plots) + dask (cluster screening).
$(VENV)/.dev: $(BIN)/python pyproject.toml train/constraints.txt
	$(PIP) -e '.[train,test,plot,dask]'
	touch $@ $(VENV)/.runtime

venv-runtime: $(VENV)/.runtime
venv: $(VENV)/.dev

demo: $(VENV)/.runtime
	$(BIN)/chi-lite info
	$(BIN)/chi-lite predict --polymer polystyrene --solvent toluene --temperature 25
	$(BIN)/chi-lite predict --polymer '*CC(*)c1ccccc1' --solvent 'O' --temperature 25 --format json
	$(BIN)/chi-lite screen --polymer polystyrene --temperature 25 --top 5 --format table
	@echo
	@echo "chi-lite is installed in $(VENV). In a new shell run it as $(BIN)/chi-lite,"
	@echo "or first 'source $(BIN)/activate' and then 'chi-lite --help'."

test: $(VENV)/.dev
	CHI_LITE_DATA=$(DATA) $(BIN)/python -m pytest

# The runtime suite on a runtime-only install with the plot extra (no torch, onnx or pandas): training tests are left out
# (tests/conftest.py), the runtime ones use the committed tiny model in tests/data/tiny_model/.
RVENV := .venv-runtime
$(RVENV)/.ready: pyproject.toml train/constraints.txt
	$(PYTHON) -m venv $(RVENV)
	$(RVENV)/bin/pip install --quiet --disable-pip-version-check -c train/constraints.txt -e '.[test,plot]'
	touch $@

test-runtime: $(RVENV)/.ready
	CHI_LITE_DATA=$(DATA) $(RVENV)/bin/python -m pytest -m "not slow"

# Rewrites tests/data/tiny_model/ with the training exporter: run after a change to the exported graph.
tiny-model: $(VENV)/.dev
	$(BIN)/python tests/make_tiny_model.py

test-fast: $(VENV)/.dev
	CHI_LITE_DATA=$(DATA) $(BIN)/python -m pytest -m "not slow"

# Reproduces artifacts/ from the shared data with the configuration `make tune` chose
# (train/chosen_config.json): polymer-grouped miscibility CV and the final fit; the stored
# pair-, polymer- and solvent-grouped CV reports (`make cv-pairs lpo lso`, run them first after
# a config change) give the manifest's figures and the σ calibration (manifest "uncertainty").
train: $(VENV)/.dev
	$(BIN)/chi-lite-train fit --data-dir $(DATA) --config train/chosen_config.json \
		--pairs-report train/reports/pairs_metrics.json --lpo-report train/reports/lpo_metrics.json \
		--lso-report train/reports/lso_metrics.json --calibrate --out artifacts
	$(BIN)/chi-lite-train verdict --model artifacts --oof train/reports/miscibility_oof.json --data-dir $(DATA)

# Out-of-fold miscibility predictions the verdict's stacking model is fitted on (polymer-grouped, small settings).
verdict-oof: $(VENV)/.dev
	$(BIN)/chi-lite-train cv --task miscibility --scheme polymers --folds 5 --seed 0 --data-dir $(DATA) \
		--config train/verdict_cv_config.json --out train/reports/miscibility_oof.json

# The textbook solubility facts (evaluation only): accuracy of the verdict and of the old classifier.
check-textbook: $(VENV)/.runtime
	$(BIN)/python train/evaluation/check_textbook.py train/evaluation/textbook_solubility.csv

# The accuracy search (issue 3): about an hour on one core; writes train/chosen_config.json
# and the ablation table train/reports/ablation.json. Reproducible by SEED.
SEED ?= 0
tune: $(VENV)/.dev
	$(BIN)/chi-lite-train tune --data-dir $(DATA) --grid train/tune_grid.json --seed $(SEED) \
		--out train/chosen_config.json --report train/reports/ablation.json

# Leave-polymers-out 5-fold CV of the chosen configuration (run before `make train` after a config change).
lpo: $(VENV)/.dev
	$(BIN)/chi-lite-train cv --data-dir $(DATA) --scheme polymers --folds 5 --seed 0 \
		--config train/chosen_config.json --out train/reports/lpo_metrics.json

# Few-shot calibration (issue 12): leave-polymers-out, k lab tests per held-out polymer, vs the
# Hansen sphere; small fold ensembles (3 members), prior strength chosen on split seed 1.
fewshot: $(VENV)/.dev
	nice -n 5 $(BIN)/chi-lite-train fewshot --data-dir $(DATA) --config train/chosen_config.json \
		--out train/reports/fewshot.json --plot docs/fewshot.png

# Leave-solvents-out and pair-grouped 5-fold CV of the chosen configuration (per-row predictions
# with the ensemble spread and novelties: `make train` fits the σ calibration on them).
lso: $(VENV)/.dev
	$(BIN)/chi-lite-train cv --data-dir $(DATA) --scheme solvents --folds 5 --seed 0 \
		--config train/chosen_config.json --out train/reports/lso_metrics.json

cv-pairs: $(VENV)/.dev
	$(BIN)/chi-lite-train cv --data-dir $(DATA) --scheme pairs --folds 5 --seed 0 \
		--config train/chosen_config.json --out train/reports/pairs_metrics.json

# MODEL_CARD.md from artifacts/manifest.json and the reports under train/reports/.
card: $(VENV)/.dev
	$(BIN)/chi-lite-train card --model artifacts --lpo train/reports/lpo_metrics.json \
		--ablation train/reports/ablation.json --data-dir $(DATA) --out MODEL_CARD.md

# The chi-lite wheel, shipped model inside (chi_lite/model/).
DIST ?= dist
wheel: $(BIN)/python
	rm -f $(DIST)/chi_lite-*.whl
	$(BIN)/python -m pip wheel --quiet --disable-pip-version-check --no-deps --wheel-dir $(DIST) .

# Offline install bundles (issue 17): chi-lite + every runtime dependency as wheels for one platform
# and Python, with hashes, an install script, licences and an SBOM, as one archive in $(DIST)/wheelhouse/:
#   make wheelhouse PLATFORM=win_amd64 PYTHON=3.12 [PLOT=1]      make wheelhouse-all [PLOT=1]
# PLATFORM: linux_x86_64 (default), win_amd64, macosx_arm64. PYTHON here is the bundle's Python version
# (3.10, 3.11 default, 3.12); the venv of this checkout is then made with python3.
PLATFORM ?= linux_x86_64
ifneq ($(filter 3.%,$(PYTHON)),)
WHEELHOUSE_PYTHON := $(PYTHON)
override PYTHON := python3
else
WHEELHOUSE_PYTHON := 3.11
endif
WHEELHOUSE_CACHE ?= $(HOME)/.cache/chi-lite-wheelhouse
WHEELHOUSE_PLATFORMS := linux_x86_64 win_amd64 macosx_arm64
WHEELHOUSE_PYTHONS := 3.10 3.11 3.12

$(BIN)/cyclonedx-py: | $(BIN)/python
	$(PIP) -e '.[wheelhouse]'
	touch $@

wheelhouse: wheel $(BIN)/cyclonedx-py
	$(BIN)/python tools/wheelhouse.py --wheel $(wildcard $(DIST)/chi_lite-*.whl) --platform $(PLATFORM) \
		--python $(WHEELHOUSE_PYTHON) $(if $(PLOT),--plot) --out $(DIST)/wheelhouse --cache $(WHEELHOUSE_CACHE)

wheelhouse-all: wheel $(BIN)/cyclonedx-py
	set -e; for platform in $(WHEELHOUSE_PLATFORMS); do for python in $(WHEELHOUSE_PYTHONS); do \
		$(BIN)/python tools/wheelhouse.py --wheel $(wildcard $(DIST)/chi_lite-*.whl) --platform $$platform \
			--python $$python $(if $(PLOT),--plot) --out $(DIST)/wheelhouse --cache $(WHEELHOUSE_CACHE); \
	done; done

# The same plus dask, distributed, pyarrow and their dependencies: what Dask workers install (docs/dask.md).
wheelhouse-dask: wheelhouse
	$(BIN)/python -m pip wheel --quiet --disable-pip-version-check -c train/constraints.txt --wheel-dir $(DIST)/wheelhouse \
		"$$(ls $(DIST)/chi_lite-*.whl)[dask]"

# Speed and start-up figures of the shipped model (not part of the tests: machines are noisy).
bench: $(VENV)/.runtime
	CHI_LITE_DATA=$(DATA) $(BIN)/python tests/bench_runtime.py
	$(BIN)/python tests/bench_startup.py

# Sustained concurrent HTTP load on `chi-lite serve` for a bounded time, RSS sampled (must plateau); by hand.
SOAK_SECONDS ?= 120
soak: $(VENV)/.runtime
	$(BIN)/python tests/soak.py --duration $(SOAK_SECONDS)

# One Dask worker against two on a generated 200,000-molecule Parquet library (the dask extra is installed first).
$(VENV)/.dask: $(VENV)/.runtime
	$(PIP) -e '.[dask]'
	touch $@

bench-dask: $(VENV)/.dask
	$(BIN)/python tests/bench_dask.py

clean:
	rm -rf $(VENV) $(RVENV) build dist .pytest_cache
