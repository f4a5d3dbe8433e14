"""Training the ensemble: each member has its own pair-grouped validation split and early stopping."""

from __future__ import annotations

import copy
import json
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from chi_lite.config import FeaturizerConfig

from .features import candidate_matrices, choose_vocabulary, columns, row_matrices
from .model import POLYMER_GC, SOLVENT_GC, T_REF, ChiEnsemble, DescriptorScaler, SphereNet, hansen_chi_excess


@dataclass
class TrainConfig:
    """Hyperparameters of one training run; stored in the manifest."""

    members: int = 10
    latent: int = 8
    cosmo_weight: float = 2.0
    learning_rate: float = 3e-3
    weight_decay: float = 1e-5
    max_steps: int = 4000
    eval_every: int = 10
    patience: int = 400
    val_fraction: float = 0.1
    oligomer_length: int = 10
    seed: int = 0
    # Third task (Aoki et al.): BCE on PolySol solvent / non-solvent labels at room temperature.
    miscibility_weight: float = 0.1  # 0 trains the two χ tasks only; 0.1 measured best of 3, 1, 0.3, 0.1
    miscibility_balance: bool = True  # weight each class by the inverse of its frequency (68 % are solvents)
    # Accuracy levers (issue 3); defaults reproduce the issue-2 model.
    input_noise: float = 0.0  # σ of Gaussian noise on standardized descriptors while training
    polymer_features: str = "all"  # descriptor family per role: all | rdkit | km
    solvent_features: str = "all"
    hansen_weight: float = 0.0  # auxiliary δD/δP/δH target read off the solvent embedding (0: off)
    # Issue 10 levers.
    activation: str = "sigmoid"  # encoder hidden activation: sigmoid (paper) | silu
    group_contribution: bool = True  # gc_* descriptors (Hoftyzer–Van Krevelen δ, Fedors V) in the vocabulary
    hansen_chi: str = "off"  # Hansen–Flory–Huggins χ_H from gc_* δ: off | input (pair input) | baseline (network corrects it)
    hansen_compounds: bool = False  # every Hansen-table compound joins the solvent encoder's δ target rows

    def __post_init__(self) -> None:
        from .features import FAMILIES
        from .model import ACTIVATIONS

        from .model import HANSEN_CHI_MODES

        if self.hansen_chi not in HANSEN_CHI_MODES:
            raise ValueError(f"hansen_chi must be one of {', '.join(HANSEN_CHI_MODES)}, not {self.hansen_chi!r}")
        if self.hansen_chi != "off" and not self.group_contribution:
            raise ValueError("hansen_chi needs group_contribution (χ_H is computed from the gc_* δ)")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, not {self.activation!r}")

        for name in ("polymer_features", "solvent_features"):
            if getattr(self, name) not in FAMILIES:
                raise ValueError(f"{name} must be one of {', '.join(FAMILIES)}, not {getattr(self, name)!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def with_overrides(self, overrides: dict[str, Any]) -> "TrainConfig":
        """A copy with some fields replaced; an unknown field name is an error, not a silent no-op."""
        names = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise ValueError(f"unknown training setting(s) {', '.join(unknown)}")
        return TrainConfig(**{**self.to_dict(), **overrides})


# The configuration `make tune` chose; `make train` and `chi-lite-train cv` start from it.
CHOSEN_CONFIG = Path(__file__).resolve().parents[1] / "chosen_config.json"


def load_config(path: Path | None = None) -> TrainConfig:
    """The chosen configuration (``path`` or train/chosen_config.json); defaults if the file is absent."""
    if path is None:
        if not CHOSEN_CONFIG.is_file():  # e.g. an installed wheel: no train/ folder
            return TrainConfig()
        path = CHOSEN_CONFIG
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"config file {path} not found") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"config file {path} is not valid JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("config"), dict):
        raise ValueError(f'config file {path} must be an object with a "config" object')
    return TrainConfig().with_overrides(doc["config"])


@dataclass
class _Tensors:
    """Unique molecules as matrices plus per-row indices into them (encoders run once per molecule)."""

    polymers: torch.Tensor
    solvents: torch.Tensor
    p_index: torch.Tensor
    s_index: torch.Tensor
    tau: torch.Tensor
    y: torch.Tensor
    is_cosmo: torch.Tensor
    pair: np.ndarray
    hansen: torch.Tensor  # (solvents, 3) standardized δD, δP, δH; NaN where unknown
    labels: "_LabelTensors | None" = None
    polymer_gc: torch.Tensor | None = None  # (polymers, 4) raw POLYMER_GC columns when χ_H is used
    solvent_gc: torch.Tensor | None = None  # (solvents, 5) raw SOLVENT_GC columns


@dataclass
class _LabelTensors:
    """Miscibility labels at room temperature, indexing the same molecule matrices."""

    p_index: torch.Tensor
    s_index: torch.Tensor
    y: torch.Tensor
    weight: torch.Tensor
    polymer: np.ndarray


def _row_tensors(rows: pd.DataFrame, p_pos: dict[str, int], s_pos: dict[str, int], chi_mean: float, chi_scale: float):
    return (
        torch.tensor(rows["polymer"].map(p_pos).to_numpy(), dtype=torch.long),
        torch.tensor(rows["solvent"].map(s_pos).to_numpy(), dtype=torch.long),
        torch.tensor((T_REF / rows["temp_k"]).to_numpy(), dtype=torch.float32),
        torch.tensor(((rows["chi"] - chi_mean) / chi_scale).to_numpy(), dtype=torch.float32),
    )


def _embed(member: SphereNet, t: _Tensors, noise: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Every molecule through its encoder once; the χ and miscibility losses share the result."""
    xp, xs = t.polymers, t.solvents
    if noise > 0:  # input noise: smooths the encoders where only 46 polymers pin them down
        xp = xp + noise * torch.randn_like(xp)
        xs = xs + noise * torch.randn_like(xs)
    return member.embed_polymer(xp), member.embed_solvent(xs)


def _pair_hansen(t: _Tensors, p_index: torch.Tensor, s_index: torch.Tensor):
    """(h, known) of χ_H for these pairs, or None when the model does not use it."""
    if t.polymer_gc is None:
        return None
    return hansen_chi_excess(t.polymer_gc[p_index], t.solvent_gc[s_index])


def _predict_scaled(member: SphereNet, t: _Tensors, mask: torch.Tensor, embedded=None) -> torch.Tensor:
    ep, es = embedded if embedded is not None else _embed(member, t)
    pi, si = t.p_index[mask], t.s_index[mask]
    out = member.pair_head(ep[pi], es[si], _pair_hansen(t, pi, si))
    cosmo = t.is_cosmo[mask]
    a = torch.where(cosmo, out[:, 2], out[:, 0])
    b = torch.where(cosmo, out[:, 3], out[:, 1])
    return a + b * t.tau[mask]


def _bce(member: SphereNet, t: _Tensors, mask: torch.Tensor, embedded) -> torch.Tensor:
    """Weighted mean binary cross-entropy of the miscibility logit on the masked labels."""
    labels = t.labels
    ep, es = embedded
    pi, si = labels.p_index[mask], labels.s_index[mask]
    logits = member.pair_head(ep[pi], es[si], _pair_hansen(t, pi, si))[:, 4]
    w = labels.weight[mask]
    losses = F.binary_cross_entropy_with_logits(logits, labels.y[mask], reduction="none")
    return (w * losses).sum() / w.sum()


def _label_split(t: _Tensors, config: TrainConfig, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Train / validation masks of the labels, validation = a random 10 % of labelled polymers."""
    if t.labels is None or config.miscibility_weight <= 0:
        return None
    polymers = np.unique(t.labels.polymer)
    n_val = max(1, int(round(config.val_fraction * len(polymers))))
    val = torch.tensor(np.isin(t.labels.polymer, rng.choice(polymers, size=n_val, replace=False)))
    return ~val, val


def train_member(t: _Tensors, config: TrainConfig, seed: int, chi_scale: float = 1.0) -> tuple[SphereNet, dict[str, float]]:
    """One member: hold out a random 10 % of experimental pairs (and their COSMO rows) for early stopping.

    With labels, 10 % of the labelled polymers are held out too, and early stopping watches
    val χ RMSE (scaled) + miscibility_weight · val BCE. With ``val_fraction`` 0 every row
    trains and the member runs exactly ``max_steps`` steps (a step count chosen by grouped CV).
    """
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    fixed_steps = config.val_fraction <= 0
    exp_pairs = np.unique(t.pair[~t.is_cosmo.numpy()])
    n_val = 0 if fixed_steps else max(1, int(round(config.val_fraction * len(exp_pairs))))
    val_pairs = set(rng.choice(exp_pairs, size=n_val, replace=False).tolist())
    in_val_pair = torch.tensor(np.isin(t.pair, list(val_pairs)))
    train_mask = ~in_val_pair
    val_mask = in_val_pair & ~t.is_cosmo
    weights = torch.where(t.is_cosmo, torch.tensor(config.cosmo_weight), torch.tensor(1.0))[train_mask]
    label_masks = None if fixed_steps else _label_split(t, config, rng)
    if fixed_steps and t.labels is not None and config.miscibility_weight > 0:
        label_masks = (torch.ones(len(t.labels.y), dtype=torch.bool), torch.zeros(len(t.labels.y), dtype=torch.bool))

    member = SphereNet(t.polymers.shape[1], t.solvents.shape[1], config.latent, config.activation,
                       config.hansen_chi, chi_scale)
    parameters = list(member.parameters())
    has_hansen = ~torch.isnan(t.hansen).any(dim=1)
    if config.hansen_weight > 0:  # a linear read-out, used in training only (not exported)
        hansen_head = torch.nn.Linear(2 * config.latent, 3)
        parameters += list(hansen_head.parameters())
    optimizer = torch.optim.Adam(parameters, lr=config.learning_rate, weight_decay=config.weight_decay)
    best = (float("inf"), 0, copy.deepcopy(member.state_dict()))
    for step in range(1, config.max_steps + 1):
        member.train()
        optimizer.zero_grad()
        embedded = _embed(member, t, config.input_noise)
        residual = _predict_scaled(member, t, train_mask, embedded) - t.y[train_mask]
        loss = (weights * residual**2).sum() / weights.sum()
        if label_masks is not None:
            loss = loss + config.miscibility_weight * _bce(member, t, label_masks[0], embedded)
        if config.hansen_weight > 0 and bool(has_hansen.any()):
            hansen_pred = hansen_head(member.embed_solvent(t.solvents[has_hansen]))
            loss = loss + config.hansen_weight * torch.mean((hansen_pred - t.hansen[has_hansen]) ** 2)
        loss.backward()
        optimizer.step()
        if fixed_steps:
            continue
        if step % config.eval_every == 0:
            member.eval()
            with torch.no_grad():
                embedded = _embed(member, t)
                val = torch.sqrt(torch.mean((_predict_scaled(member, t, val_mask, embedded) - t.y[val_mask]) ** 2)).item()
                if label_masks is not None:
                    val += config.miscibility_weight * _bce(member, t, label_masks[1], embedded).item()
            if val < best[0]:
                best = (val, step, copy.deepcopy(member.state_dict()))
            elif step - best[1] >= config.patience:
                break
    if fixed_steps:
        member.eval()
        return member, {"val_loss": float("nan"), "best_step": step, "steps": step}
    member.load_state_dict(best[2])
    member.eval()
    return member, {"val_loss": best[0], "best_step": best[1], "steps": step}


def _hansen_targets(solvents: list[str], hansen: dict[str, tuple[float, float, float]]) -> torch.Tensor:
    """Standardized δD, δP, δH per training solvent (NaN rows where the tables lack it)."""
    from .data import canonical

    table = np.array([hansen.get(canonical(s), (np.nan,) * 3) for s in solvents], dtype=np.float64).reshape(-1, 3)
    known = ~np.isnan(table).any(axis=1)
    if known.sum() >= 2:
        table = (table - table[known].mean(axis=0)) / table[known].std(axis=0)
    return torch.tensor(table, dtype=torch.float32)


def train_ensemble(
    exp: pd.DataFrame,
    cosmo: pd.DataFrame,
    config: TrainConfig,
    log: Callable[[str], None] = lambda _: None,
    labels: pd.DataFrame | None = None,
    hansen: dict[str, tuple[float, float, float]] | None = None,
) -> tuple[ChiEnsemble, FeaturizerConfig, dict[str, Any]]:
    """Fit vocabulary, scalers and all members on exactly these rows.

    ``labels`` (polymer, solvent, label; room temperature) train the miscibility head when
    ``config.miscibility_weight`` > 0; their molecules join the vocabulary choice and scalers.
    """
    if labels is not None and (config.miscibility_weight <= 0 or len(labels) == 0):
        labels = None
    started = time.perf_counter()
    # One thread: the gather's backward accumulates in thread order, so more threads make runs
    # differ in the last bits, and make train must reproduce the shipped bytes. These tensors
    # are small enough that a second thread saves little.
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    # Deterministic mode also fills every new tensor with NaN (tens of thousands of fills per
    # step, half the training time); correct kernels never read that memory, so results are the same.
    torch.utils.deterministic.fill_uninitialized_memory = False
    polymers = sorted(set(exp["polymer"]) | set(cosmo["polymer"]))
    solvents = sorted(set(exp["solvent"]) | set(cosmo["solvent"]))
    names, p_all, s_all = candidate_matrices(polymers, solvents, config.oligomer_length)
    if labels is not None:
        labels, polymers, solvents, p_all, s_all = _add_label_molecules(labels, polymers, solvents, p_all, s_all, names, config, log)
    if config.hansen_compounds and hansen:
        solvents, s_all = _add_hansen_compounds(hansen, solvents, s_all, p_all, names, config, log)
    vocabulary = choose_vocabulary(
        names, p_all, s_all, config.oligomer_length, config.polymer_features, config.solvent_features,
        group_contribution=config.group_contribution,
        required=(POLYMER_GC, SOLVENT_GC) if config.hansen_chi != "off" else None,
    )
    p_raw = columns(p_all, names, vocabulary.polymer_descriptors)
    s_raw = columns(s_all, names, vocabulary.solvent_descriptors)
    featurize_s = time.perf_counter() - started
    log(
        f"vocabulary: {len(vocabulary.polymer_descriptors)} polymer / {len(vocabulary.solvent_descriptors)} "
        f"solvent descriptors, {len(polymers)} polymers, {len(solvents)} solvents ({featurize_s:.1f} s)"
    )
    p_scaler, s_scaler = DescriptorScaler(p_raw), DescriptorScaler(s_raw)
    chi_mean, chi_scale = float(exp["chi"].mean()), float(exp["chi"].std())

    rows = pd.concat([exp.assign(is_cosmo=False), cosmo.assign(is_cosmo=True)], ignore_index=True)
    p_pos = {p: i for i, p in enumerate(polymers)}
    s_pos = {s: i for i, s in enumerate(solvents)}
    p_index, s_index, tau, y = _row_tensors(rows, p_pos, s_pos, chi_mean, chi_scale)
    with torch.no_grad():
        tensors = _Tensors(
            polymers=p_scaler(torch.tensor(p_raw, dtype=torch.float32)),
            solvents=s_scaler(torch.tensor(s_raw, dtype=torch.float32)),
            p_index=p_index,
            s_index=s_index,
            tau=tau,
            y=y,
            is_cosmo=torch.tensor(rows["is_cosmo"].to_numpy()),
            pair=rows["pair"].to_numpy(),
            hansen=_hansen_targets(solvents, hansen or {}),
            labels=None if labels is None else _label_tensors(labels, p_pos, s_pos, config),
        )
        if config.hansen_chi != "off":
            tensors.polymer_gc = torch.tensor(columns(p_all, names, list(POLYMER_GC)), dtype=torch.float32)
            tensors.solvent_gc = torch.tensor(columns(s_all, names, list(SOLVENT_GC)), dtype=torch.float32)
    members, member_info = [], []
    for k in range(config.members):
        member, info = train_member(tensors, config, seed=config.seed * 1000 + k, chi_scale=chi_scale)
        members.append(member)
        member_info.append(info)
        log(f"member {k + 1}/{config.members}: best step {info['best_step']}, val loss {info['val_loss']:.3f}")
    # Novelty references: the molecules with experimental χ rows (standardized like the inputs).
    chi_p = sorted({p_pos[p] for p in exp["polymer"]})
    chi_s = sorted({s_pos[s] for s in exp["solvent"]})
    gc_columns = None
    if config.hansen_chi != "off":
        gc_columns = ([vocabulary.polymer_descriptors.index(n) for n in POLYMER_GC],
                      [vocabulary.solvent_descriptors.index(n) for n in SOLVENT_GC])
    ensemble = ChiEnsemble(p_scaler, s_scaler, members, chi_mean, chi_scale,
                           tensors.polymers[chi_p], tensors.solvents[chi_s], gc_columns).eval()
    info = {
        "featurize_seconds": round(featurize_s, 2),
        "train_seconds": round(time.perf_counter() - started, 2),
        "members": member_info,
        "n_exp_rows": int(len(exp)),
        "n_cosmo_rows": int(len(cosmo)),
        "n_label_rows": 0 if labels is None else int(len(labels)),
        "n_polymers": len(polymers),
        "n_solvents": len(solvents),
    }
    return ensemble, vocabulary, info


def _add_label_molecules(labels, polymers, solvents, p_all, s_all, names, config, log):
    """Join the labelled molecules to the χ ones.

    A labelled molecule with a non-finite descriptor that is finite for every χ molecule is
    dropped with its labels: otherwise that one molecule would remove the descriptor from the
    vocabulary of the χ model.
    """
    new_p = sorted(set(labels["polymer"]) - set(polymers))
    new_s = sorted(set(labels["solvent"]) - set(solvents))
    _, p_new, s_new = candidate_matrices(new_p, new_s, config.oligomer_length)
    p_new, s_new = p_new.reshape(len(new_p), len(names)), s_new.reshape(len(new_s), len(names))

    def usable(new: np.ndarray, old: np.ndarray) -> np.ndarray:
        finite_before = np.all(np.isfinite(old), axis=0)
        return np.all(np.isfinite(new[:, finite_before]), axis=1)

    keep_p, keep_s = usable(p_new, p_all), usable(s_new, s_all)
    dropped = {m for m, k in zip(new_p, keep_p) if not k} | {m for m, k in zip(new_s, keep_s) if not k}
    if dropped:
        log(f"labels: dropped {len(dropped)} molecules with non-finite descriptors: {sorted(dropped)[:5]}")
    labels = labels[~labels["polymer"].isin(dropped) & ~labels["solvent"].isin(dropped)]
    polymers = polymers + [m for m, k in zip(new_p, keep_p) if k]
    solvents = solvents + [m for m, k in zip(new_s, keep_s) if k]
    return labels, polymers, solvents, np.vstack([p_all, p_new[keep_p]]), np.vstack([s_all, s_new[keep_s]])


def _add_hansen_compounds(hansen, solvents, s_all, p_all, names, config, log):
    """Every Hansen-table molecule not yet a solvent joins the solvent matrix as a δ-target row.

    Keys are canonical SMILES (``hansen``'s keys); molecules whose descriptors are non-finite
    where every χ molecule is finite are skipped (they would shrink the χ model's vocabulary).
    The caller removes held-out molecules from ``hansen`` (grouped CV stays strict).
    """
    from .data import canonical

    from chi_lite.errors import ChiLiteError

    present = {canonical(s) for s in solvents}
    new, rows = [], []
    for key in sorted(k for k in hansen if k not in present):
        try:  # the runtime refuses some (salts, radicals, non-finite descriptors): so does training
            rows.append(candidate_matrices([], [key], config.oligomer_length)[2][0])
        except ChiLiteError:
            continue
        new.append(key)
    s_new = np.array(rows).reshape(len(new), len(names))
    finite_before = np.all(np.isfinite(s_all), axis=0)
    keep = np.all(np.isfinite(s_new[:, finite_before]), axis=1)
    log(f"hansen compounds: {int(keep.sum())} added as δ-target rows ({int((~keep).sum())} skipped)")
    return solvents + [m for m, k in zip(new, keep) if k], np.vstack([s_all, s_new[keep]])


def _label_tensors(labels: pd.DataFrame, p_pos: dict[str, int], s_pos: dict[str, int], config: TrainConfig) -> _LabelTensors:
    y = labels["label"].to_numpy().astype(np.float32)
    weight = np.ones_like(y)
    if config.miscibility_balance:
        positive = y.mean()
        weight = np.where(y > 0.5, 0.5 / positive, 0.5 / (1 - positive)).astype(np.float32)
    return _LabelTensors(
        p_index=torch.tensor(labels["polymer"].map(p_pos).to_numpy(), dtype=torch.long),
        s_index=torch.tensor(labels["solvent"].map(s_pos).to_numpy(), dtype=torch.long),
        y=torch.tensor(y),
        weight=torch.tensor(weight),
        polymer=labels["polymer"].to_numpy(),
    )


def predict_frame(ensemble: ChiEnsemble, vocabulary: FeaturizerConfig, rows: pd.DataFrame) -> pd.DataFrame:
    """Torch predictions (χ mean, ensemble spread as ``std``, p_miscible, novelties) for rows with polymer, solvent, temp_k."""
    xp, xs, temp = (torch.tensor(m, dtype=torch.float32) for m in row_matrices(vocabulary, rows))
    with torch.no_grad():
        chi, spread, _, _, p_miscible, novelty_p, novelty_s = ensemble(xp, xs, temp)
    return pd.DataFrame({"pred": chi.numpy(), "std": spread.numpy(), "p_miscible": p_miscible.numpy(),
                         "polymer_novelty": novelty_p.numpy(), "solvent_novelty": novelty_s.numpy()}, index=rows.index)
