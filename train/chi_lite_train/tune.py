"""`make tune`: a one-lever-at-a-time search, then the helpful levers combined.

Each candidate is scored by the same grouped cross-validation `chi-lite-train cv` runs
(small ensembles to screen; the chosen configuration is shipped at full size). Every
candidate becomes a row of the ablation table the model card prints.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

from .data import ChiData
from .evaluate import cross_validate, scheme_folds
from .fit import TrainConfig


def read_grid(path: Path) -> dict[str, Any]:
    """The search space: base overrides, screening ensemble size, and named levers."""
    try:
        grid = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"tune grid {path} is unreadable: {exc}") from None
    if not isinstance(grid, dict) or not isinstance(grid.get("levers"), list):
        raise ValueError(f'tune grid {path} needs a "levers" list')
    base = TrainConfig().with_overrides(grid.get("base", {}))
    for lever in grid["levers"]:
        base.with_overrides(lever["set"])  # fail now on a typo, not an hour in
    return grid


def _cv(data: ChiData, config: TrainConfig, scheme: str, folds: int, seed: int, labels=None) -> dict[str, Any]:
    """A full `chi-lite-train cv` metrics document (same fields as the command writes)."""
    started = time.perf_counter()
    result = cross_validate(data, config, scheme_folds(data, scheme, folds, seed), labels=labels)
    return {"scheme": scheme, "seed": seed, **result, "seconds": round(time.perf_counter() - started, 1),
            "config": config.to_dict()}


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    return {**{k: round(v, 4) for k, v in result["model"].items() if k != "n"}, "seconds": result["seconds"]}


def _score(data: ChiData, config: TrainConfig, scheme: str, folds: int, seed: int, labels=None) -> dict[str, Any]:
    return _summary(_cv(data, config, scheme, folds, seed, labels))


def _combine(base: dict[str, Any], winners: list[dict[str, Any]]) -> dict[str, Any]:
    """Overrides of all winning levers; where two set the same field, the better one wins."""
    combined: dict[str, Any] = dict(base)
    owner: dict[str, float] = {}
    for row in winners:
        for name, value in row["set"].items():
            if row["pairs"]["r2"] > owner.get(name, -1e9):
                combined[name], owner[name] = value, row["pairs"]["r2"]
    return combined


def _choose(baseline: dict[str, Any], rows: list[dict[str, Any]], min_gain: float, lpo_gain: float) -> dict[str, Any]:
    """The baseline, unless a candidate beats it on pairs by more than seed noise (min_gain), or is
    no worse on pairs (within min_gain) and clearly better leave-polymers-out (lpo_gain)."""
    top = baseline["pairs"]["r2"]
    clear = [r for r in rows if r["pairs"]["r2"] >= top + min_gain]
    if clear:
        return max(clear, key=lambda r: r["pairs"]["r2"])
    lpo_base = baseline.get("polymers", {}).get("r2", float("inf"))
    extrapolating = [r for r in rows if "polymers" in r and r["pairs"]["r2"] >= top - min_gain
                     and r["polymers"]["r2"] >= lpo_base + lpo_gain]
    return max(extrapolating, key=lambda r: r["polymers"]["r2"]) if extrapolating else baseline


def _key(overrides: dict[str, Any]) -> str:
    return json.dumps(overrides, sort_keys=True)


def _reusable(previous: dict[str, Any] | None, grid: dict[str, Any], seed: int, with_labels: bool) -> dict[str, dict[str, Any]]:
    """Rows of an earlier report measured under the same protocol, by their settings."""
    if not previous:
        return {}
    same = (previous.get("seed") == seed and previous.get("folds") == int(grid.get("folds", 5))
            and previous.get("screen_members") == int(grid.get("members", 3)) and previous.get("base", {}) == grid.get("base", {})
            and previous.get("miscibility_labels", False) == with_labels)
    return {_key(r["set"]): r for r in previous.get("rows", [])} if same else {}


def tune(
    data: ChiData,
    grid: dict[str, Any],
    seed: int,
    log: Callable[[str], None] = lambda _: None,
    previous: dict[str, Any] | None = None,
    save: Callable[[dict[str, Any]], None] = lambda _: None,
    save_lpo: Callable[[dict[str, Any]], None] = lambda _: None,
    labels: Any = None,
) -> dict[str, Any]:
    """Screen every lever by pair-grouped CV, combine those that beat the baseline, check the
    baseline and the best candidates leave-polymers-out too, and return the ablation table.

    ``previous`` (an earlier report of the same protocol) lets an interrupted or extended
    search reuse the candidates it already measured; training is deterministic, so a rerun
    would give the same figures. ``labels`` (PolySol miscibility) train the third task in every
    fold, as `make train` does, when the configuration weights it."""
    screen = {"members": int(grid.get("members", 3))}
    folds, min_gain = int(grid.get("folds", 5)), float(grid.get("min_gain", 0.01))
    base = dict(grid.get("base", {}))
    rows: list[dict[str, Any]] = []
    cache = _reusable(previous, grid, seed, labels is not None)
    header = {"seed": seed, "folds": folds, "screen_members": screen["members"], "min_gain": min_gain,
              "lpo_gain": float(grid.get("lpo_gain", 0.05)), "base": base, "miscibility_labels": labels is not None}

    def run(name: str, overrides: dict[str, Any]) -> dict[str, Any]:
        config = TrainConfig().with_overrides({**base, **overrides, **screen, "seed": seed})
        if _key(overrides) in cache:
            row = {**cache[_key(overrides)], "name": name}
        else:
            row = {"name": name, "set": overrides, "pairs": _score(data, config, "pairs", folds, seed, labels)}
        rows.append(row)
        save({**header, "chosen": None, "rows": rows})
        log(f"{name:<28} pairs R² {row['pairs']['r2']:.3f} RMSE {row['pairs']['rmse']:.3f} ({row['pairs']['seconds']:.0f} s)")
        return row

    baseline = run("baseline", {})
    for lever in grid["levers"]:
        run(lever["name"], lever["set"])
    winners = sorted((r for r in rows[1:] if r["pairs"]["r2"] >= baseline["pairs"]["r2"] + min_gain),
                     key=lambda r: -r["pairs"]["r2"])
    combined = _combine({}, winners)
    if len(winners) >= 2 and all(_key(r["set"]) != _key(combined) for r in rows):  # e.g. two weights of one lever
        run("combined: " + " + ".join(r["name"] for r in winners), combined)
    # Leave-polymers-out for the baseline and the lpo_top best other candidates by pair R².
    scored_lpo: dict[int, dict[str, Any]] = {}
    others = sorted(rows[1:], key=lambda r: -r["pairs"]["r2"])[: int(grid.get("lpo_top", 1))]
    for row in [baseline, *others]:
        if "polymers" not in row:
            config = TrainConfig().with_overrides({**base, **row["set"], **screen, "seed": seed})
            scored_lpo[id(row)] = _cv(data, config, "polymers", folds, seed, labels)
            row["polymers"] = _summary(scored_lpo[id(row)])
            save({**header, "chosen": None, "rows": rows})
        log(f"{row['name']:<28} LPO   R² {row['polymers']['r2']:.3f} RMSE {row['polymers']['rmse']:.3f}")
    best = _choose(baseline, rows[1:], min_gain, float(grid.get("lpo_gain", 0.05)))
    if id(best) in scored_lpo:
        save_lpo(scored_lpo[id(best)])
    chosen = TrainConfig().with_overrides({**base, **best["set"], "seed": 0})
    return {
        **header,
        "chosen": best["name"],
        "config": chosen.to_dict(),
        "rows": rows,
    }
