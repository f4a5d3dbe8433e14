"""What training writes and the runtime reads: file names, tensor names, graph roles, head keys.

Both sides import this module (it is torch-free), so a name is spelled once. The manifest
records the tensor names of the exported graphs; the runtime reads them from there and
checks them against this contract.
"""

from __future__ import annotations

MANIFEST_FILE = "manifest.json"
MODEL_FILE = "chi_model.onnx"
POLYMER_ENCODER_FILE = "polymer_encoder.onnx"
SOLVENT_ENCODER_FILE = "solvent_encoder.onnx"
PAIR_HEAD_FILE = "pair_head.onnx"
HEAD_WEIGHTS_FILE = "pair_head.npz"

OPSET = 17
T_REF = 298.15  # K; temperatures enter the head as T_REF / T

# Whole graph: raw descriptors + temperature → the answer.
POLYMER_INPUT = "polymer_descriptors"
SOLVENT_INPUT = "solvent_descriptors"
TEMPERATURE_INPUT = "temperature_k"
MODEL_INPUTS = (POLYMER_INPUT, SOLVENT_INPUT, TEMPERATURE_INPUT)
# chi_spread is the raw ensemble spread; the runtime turns it into the calibrated chi_std with the
# novelties (chi_lite.uncertainty, parameters in the manifest under UNCERTAINTY_KEY). Models exported
# before the calibration output chi_std (the spread) instead: LEGACY_MODEL_OUTPUTS.
SPREAD_OUTPUT = "chi_spread"
LEGACY_SPREAD_OUTPUT = "chi_std"
POLYMER_NOVELTY = "polymer_novelty"
SOLVENT_NOVELTY = "solvent_novelty"
NOVELTY_OUTPUTS = (POLYMER_NOVELTY, SOLVENT_NOVELTY)
MODEL_OUTPUTS = ("chi", SPREAD_OUTPUT, "A", "B", "p_miscible", *NOVELTY_OUTPUTS)
LEGACY_MODEL_OUTPUTS = ("chi", LEGACY_SPREAD_OUTPUT, "A", "B", "p_miscible")
UNCERTAINTY_KEY = "uncertainty"  # manifest.json: calibrated_std parameters and the CV coverage they give

# Factorized graphs: encoders once per molecule, then the small pair head.
POLYMER_EMBEDDING = "polymer_embedding"
SOLVENT_EMBEDDING = "solvent_embedding"
HEAD_INPUTS = (POLYMER_EMBEDDING, SOLVENT_EMBEDDING, TEMPERATURE_INPUT)
HEAD_OUTPUTS = ("chi", SPREAD_OUTPUT, "A", "B", "p_miscible")
# Encoder graphs: the embedding, then the molecule's novelty (distance to the nearest χ-training molecule).
POLYMER_ENCODER_OUTPUTS = (POLYMER_EMBEDDING, POLYMER_NOVELTY)
SOLVENT_ENCODER_OUTPUTS = (SOLVENT_EMBEDDING, SOLVENT_NOVELTY)
GRAPH_FILES = {
    "polymer_encoder": POLYMER_ENCODER_FILE,
    "solvent_encoder": SOLVENT_ENCODER_FILE,
    "pair_head": PAIR_HEAD_FILE,
    "pair_head_weights": HEAD_WEIGHTS_FILE,
}
GRAPH_ROLES = tuple(GRAPH_FILES)

# pair_head.npz: weight (K, 5, Z), bias (K, 5), and the χ standardisation and reference temperature.
HEAD_KEYS = ("weight", "bias", "chi_mean", "chi_scale", "t_ref")

# ONNX metadata_props key of every exported graph: the sha256 of the manifest's featurizer section
# the graph was trained with (chi_lite.config.FeaturizerConfig.fingerprint). A manifest whose
# vocabulary or featurizer settings disagree with its graphs is refused at load.
FEATURIZER_STAMP_KEY = "chi_lite_featurizer_sha256"
