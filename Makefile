# Two commands for a fresh machine: `make demo` and `make test`. Both create .venv and install into it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DATA   ?= ../shared/data
PIP    := $(BIN)/pip install --quiet --disable-pip-version-check -c train/constraints.txt

.PHONY: demo test test-fast train tune lpo lso cv-pairs card bench venv venv-runtime wheel wheelhouse clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Runtime only (numpy, onnxruntime, rdkit, click): what a user needs to predict.
$(VENV)/.runtime: $(BIN)/python pyproject.toml train/constraints.txt
	$(PIP) -e .
	touch $@

# Everything: runtime + training (torch==2.13.0 CPU, onnx, pandas) + pytest + matplotlib (plots).
$(VENV)/.dev: $(BIN)/python pyproject.toml train/constraints.txt
	$(PIP) -e '.[train,test,plot]'
	touch $@ $(VENV)/.runtime

venv-runtime: $(VENV)/.runtime
venv: $(VENV)/.dev

demo: $(VENV)/.runtime
	$(BIN)/chi-lite info
	$(BIN)/chi-lite predict --polymer '*CC(*)c1ccccc1' --solvent 'Cc1ccccc1' --temperature 25
	$(BIN)/chi-lite predict --polymer '*CC(*)c1ccccc1' --solvent 'O' --temperature 25 --format json
	$(BIN)/chi-lite screen --polymer polystyrene --temperature 25 --top 5 --format table

test: $(VENV)/.dev
	CHI_LITE_DATA=$(DATA) $(BIN)/python -m pytest

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

# chi-lite + every runtime dependency as wheels, for offline sites:
#   pip install --no-index --find-links wheelhouse chi-lite
wheelhouse: wheel
	rm -rf $(DIST)/wheelhouse
	$(BIN)/python -m pip wheel --quiet --disable-pip-version-check -c train/constraints.txt --wheel-dir $(DIST)/wheelhouse $(DIST)/chi_lite-*.whl

# Speed and start-up figures of the shipped model (not part of the tests: machines are noisy).
bench: $(VENV)/.runtime
	CHI_LITE_DATA=$(DATA) $(BIN)/python tests/bench_runtime.py
	$(BIN)/python tests/bench_startup.py

clean:
	rm -rf $(VENV) build dist .pytest_cache
