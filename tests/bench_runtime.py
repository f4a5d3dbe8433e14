"""`make bench`: speed of the shipped model (not a test: machines are noisy).

Measures, side by side in one process and on one core unless said otherwise:
featurization, single-pair latency, new solvents per second (descriptors +
encoder), cached pairs per second (numpy linear head and onnxruntime pair head),
torch eager against onnxruntime at batch 1 and 1024, and a 1-million-row
library screen generated in a temporary directory. Prints medians/bests and the
machine load, for BENCHMARKS.md.
"""

from __future__ import annotations

import os

# One core for numpy's BLAS too, before numpy is imported (the figures are per core).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import csv  # noqa: E402
import importlib.util  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from chi_lite import ChiPredictor  # noqa: E402
from chi_lite.screening import Screener  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shared_data import chi_molecules  # noqa: E402

# Large aromatic backbones are the slow case for ring perception; time them too.
COMMON_POLYMERS_OUTSIDE_THE_DATA = {
    "*Oc1ccc(C(C)(C)c2ccc(OC(*)=O)cc2)cc1",  # bisphenol-A polycarbonate
    "*OCCOC(=O)c1ccc(C(*)=O)cc1",  # PET
    "*NCCCCCCNC(=O)CCCCC(*)=O",  # nylon-6,6
    "*c1ccc(Oc2ccc(C(=O)c3ccc(*)cc3)cc2)cc1",  # PEEK-like
    "*[Si](C)(C)O*",  # PDMS
}
DATA = Path(os.environ.get("CHI_LITE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
PS = "*CC(*)c1ccccc1"
LIBRARY_ROWS = 1_000_000
PAPER_S, COSMO_S = 0.11, 4.1  # per pair: Aoki et al. network incl. descriptors; COSMO-RS


def _best_of(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _hansen_smiles() -> list[str]:
    """Distinct SMILES of the Hansen compound table: real molecules the model has not seen (read in place)."""
    out: list[str] = []
    with open(DATA / "hansen" / "hsp_compounds.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            s = (row.get("SMILES") or "").strip()
            if s and s not in out:
                out.append(s)
    return out


def featurization(predictor: ChiPredictor, polymers: set[str], solvents: set[str]) -> None:
    f = predictor.featurizer
    poly = sorted((_best_of(lambda: f.polymer(p)), p) for p in polymers)
    solv = sorted((_best_of(lambda: f.solvent(s)), s) for s in solvents)
    print(f"featurize polymer (cyclic {f.config.oligomer_length}-mer, {len(f.config.polymer_descriptors)} descriptors), "
          f"{len(poly)} polymers (data + 5 aromatic/large): median {1e3 * statistics.median(t for t, _ in poly):.1f} ms, "
          f"max {1e3 * poly[-1][0]:.1f} ms ({poly[-1][1]})")
    print(f"featurize solvent ({len(f.config.solvent_descriptors)} descriptors), {len(solv)} solvents: "
          f"median {1e3 * statistics.median(t for t, _ in solv):.2f} ms, mean {1e3 * statistics.mean(t for t, _ in solv):.2f} ms, "
          f"max {1e3 * solv[-1][0]:.2f} ms")


def latency(predictor: ChiPredictor, solvents: set[str]) -> float:
    predictor.predict(PS, "Cc1ccccc1", 25)
    warm = _best_of(lambda: predictor.predict(PS, "Cc1ccccc1", 25), 50)
    times = []
    for s in sorted(solvents):
        def fresh(s=s):
            predictor.loaded._solvents.clear()  # the solvent is new to the predictor every time
            predictor.predict(PS, s, 25)
        times.append(_best_of(fresh, 3))
    new = statistics.median(times)
    print(f"API single pair, both cached: {1e3 * warm:.3f} ms; new solvent, known polymer (best of 3 per solvent): "
          f"median {1e3 * new:.2f} ms, mean {1e3 * statistics.mean(times):.2f} ms, max {1e3 * max(times):.2f} ms "
          f"over {len(times)} solvents")
    print(f"  per pair vs the paper's {PAPER_S:.2f} s (network incl. descriptors): {PAPER_S / new:,.0f}x faster; "
          f"vs COSMO-RS {COSMO_S:.1f} s: {COSMO_S / new:,.0f}x faster")
    return new


def new_solvents(model_dir, molecules: list[str]) -> None:
    for jobs in (1, 2):
        with Screener(model_dir, jobs=jobs) as screener:
            screener.solvent_features(molecules[:8])  # load the worker pool before timing
            screener.memory._data.clear()
            screener._canonical.clear()
            start, cpu = time.perf_counter(), time.process_time()
            out = screener.solvent_features(molecules)
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        ok = sum(1 for e, _ in out if e is not None)
        line = (f"new solvents incl. parsing, descriptors and solvent encoder, --jobs {jobs}: {len(molecules)} molecules "
                f"({ok} valid) in {elapsed:.2f} s wall = {len(molecules) / elapsed:,.0f}/s")
        if jobs == 1:  # CPU time of this process: what one core delivers when it is not shared
            line += f"; {cpu:.2f} s CPU = {len(molecules) / cpu:,.0f}/s per CPU-second"
        print(line)


def group_contribution_cost(predictor: ChiPredictor, molecules: list[str]) -> None:
    """Solvent descriptors with and without the gc_* group contributions, interleaved in one run (issue 10)."""
    from rdkit import Chem

    from chi_lite.featurize.descriptors import compute_descriptors

    names = tuple(predictor.featurizer.config.solvent_descriptors)
    without = tuple(n for n in names if not n.startswith("gc_"))
    mols = [m for m in (Chem.MolFromSmiles(s) for s in molecules) if m is not None]
    cpu = {names: 0.0, without: 0.0}
    for _ in range(3):  # alternate so that load changes hit both the same way
        for vocabulary in (names, without):
            start = time.process_time()
            for mol in mols:
                compute_descriptors(mol, vocabulary)
            cpu[vocabulary] += time.process_time() - start
    n = 3 * len(mols)
    print(f"solvent descriptors per CPU-second, same molecules, one run: with gc_* {n / cpu[names]:,.0f}/s, "
          f"without {n / cpu[without]:,.0f}/s (ratio {cpu[without] / cpu[names]:.3f}; {len(names) - len(without)} gc_* columns)")


def cached_pairs(screener: Screener, molecules: list[str]) -> None:
    vectors = [f for f, _ in screener.solvent_features(molecules) if f is not None]
    reps = -(-LIBRARY_ROWS // len(vectors))
    features = np.concatenate([np.stack(vectors)] * reps)[:LIBRARY_ROWS]  # what the caches hold per solvent
    _, ep = screener.polymer_embedding(PS)
    scorer = screener.model.scorer(ep, 298.15)
    numpy_s = _best_of(lambda: scorer.score(features, with_p=False), 5)
    with_p = _best_of(lambda: scorer.score(features, with_p=True), 3)
    print(f"cached pairs (χ mean and σ of {screener.model.head.members} members), numpy linear head, 1 thread: "
          f"{LIBRARY_ROWS / numpy_s / 1e6:.1f} M pairs/s; with p_miscible too {LIBRARY_ROWS / with_p / 1e6:.1f} M/s")
    # the onnxruntime path needs the embeddings themselves: one block of real solvent embeddings, tiled
    distinct = [m for m, (f, _) in zip(molecules, screener.solvent_features(molecules)) if f is not None]
    descriptors = np.stack([screener.predictor.solvent_descriptors(m) for m in distinct])
    block = np.concatenate([screener.model.embed_solvents(descriptors)] * reps)[:LIBRARY_ROWS]
    rows = 65536
    ep_block = np.repeat(ep[None], rows, axis=0)
    temps = np.full(rows, 298.15, dtype=np.float32)

    def run_head():
        for start in range(0, LIBRARY_ROWS, rows):
            chunk = block[start : start + rows]
            screener.model.pair_head(ep_block[: len(chunk)], chunk, temps[: len(chunk)])

    ort_s = _best_of(run_head, 2)
    print(f"cached pairs, onnxruntime pair_head.onnx in blocks of {rows}, 1 thread: {LIBRARY_ROWS / ort_s / 1e6:.2f} M pairs/s "
          f"(numpy path {ort_s / numpy_s:.0f}x faster)")


def _torch_ensemble(predictor: ChiPredictor):
    """The shipped ensemble rebuilt in torch from the ONNX initializers (they keep the state_dict names)."""
    import onnx
    import torch
    from onnx import numpy_helper

    from chi_lite_train.model import ChiEnsemble, DescriptorScaler, SphereNet

    manifest = predictor.manifest
    weights = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(predictor.artifact.model_path)).graph.initializer}
    n_p, n_s = len(manifest.featurizer.polymer_descriptors), len(manifest.featurizer.solvent_descriptors)
    latent = manifest.training.get("config", {}).get("latent", 8)
    members = [SphereNet(n_p, n_s, latent) for _ in range(manifest.ensemble_size)]
    references = {}
    for role, width in (("polymer", n_p), ("solvent", n_s)):  # the exporter folded reference.T into an anonymous constant
        rows = weights[f"{role}_novelty.reference_sq"].shape[0]
        found = [w for name, w in weights.items() if w.shape in ((width, rows), (rows, width)) and "novelty" not in name]
        if found:
            matrix = found[0] if found[0].shape == (rows, width) else found[0].T
            references[role] = torch.tensor(np.ascontiguousarray(matrix))
            weights[f"{role}_novelty.reference"] = references[role].numpy()
    ensemble = ChiEnsemble(DescriptorScaler(np.zeros((2, n_p))), DescriptorScaler(np.zeros((2, n_s))), members, 0.0, 1.0,
                           polymer_reference=references.get("polymer"), solvent_reference=references.get("solvent"))
    state = ensemble.state_dict()
    missing = [k for k in state if k not in weights and k != "t_ref"]
    if missing:
        raise RuntimeError(f"cannot rebuild torch ensemble: {missing[:3]} not in the graph")
    ensemble.load_state_dict({k: torch.tensor(weights[k]) if k in weights else v for k, v in state.items()})
    return ensemble.eval()


def torch_vs_onnxruntime(predictor: ChiPredictor, polymers: set[str], solvents: set[str]) -> None:
    if importlib.util.find_spec("torch") is None:
        print("torch vs onnxruntime: torch not installed (make venv adds it); skipped")
        return
    import torch

    torch.set_num_threads(1)
    ensemble = _torch_ensemble(predictor)
    pairs = [(p, s) for p in sorted(polymers) for s in sorted(solvents)]
    xp = np.stack([predictor.polymer_descriptors(p) for p, _ in pairs[:1024]]).astype(np.float32)
    xs = np.stack([predictor.solvent_descriptors(s) for _, s in pairs[:1024]]).astype(np.float32)
    t = np.full(len(xp), 298.15, dtype=np.float32)
    session = predictor.loaded.graph.session
    with torch.no_grad():
        tt = [torch.tensor(v) for v in (xp, xs, t)]
        diff = np.max(np.abs(ensemble(*tt)[0].numpy() - session.run(["chi"], {
            "polymer_descriptors": xp, "solvent_descriptors": xs, "temperature_k": t})[0]))
        for n in (1, 1024):
            feed = {"polymer_descriptors": xp[:n], "solvent_descriptors": xs[:n], "temperature_k": t[:n]}
            args = [torch.tensor(v) for v in feed.values()]
            reps = 200 if n == 1 else 20
            torch_s = _best_of(lambda: [ensemble(*args) for _ in range(reps)], 3) / reps
            ort_s = _best_of(lambda: [session.run(None, feed) for _ in range(reps)], 3) / reps
            print(f"whole model, batch {n:>4}: torch eager {1e3 * torch_s:.3f} ms, onnxruntime {1e3 * ort_s:.3f} ms "
                  f"(onnxruntime {torch_s / ort_s:.1f}x faster), 1 thread each")
    print(f"  (same ensemble: torch vs onnxruntime max |Δχ| {diff:.1e} over {len(xp)} pairs)")


def million_row_screen(model_dir, molecules: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        library = Path(tmp) / "library.smi"
        with open(library, "w", encoding="utf-8") as handle:
            for i in range(LIBRARY_ROWS):
                handle.write(f"{molecules[i % len(molecules)]} mol{i}\n")
        cache = Path(tmp) / "library.cache"
        for label in ("first screen, writes --cache", "same library, another polymer, from the cache"):
            polymer = PS if "first" in label else "*CC(C)(*)C(=O)OC"
            with Screener(model_dir) as screener:  # loading the model is not part of the screen
                screener.polymer_embedding(polymer)  # nor featurizing the polymer (tens of ms, once)
                start = time.perf_counter()
                result = screener.screen([polymer], library, 25, top=10, cache=cache)
                elapsed = time.perf_counter() - start
            print(f"{LIBRARY_ROWS:,}-row library ({len(molecules)} distinct SMILES repeated), {label}: {elapsed:.1f} s "
                  f"({result.rows_read / elapsed / 1e3:,.0f} k rows/s; {result.descriptors_computed} featurized, "
                  f"{len(result.bad_rows)} invalid rows skipped)")
        print(f"  cache file {cache.stat().st_size / 1e6:.0f} MB")


def calibration_fit(predictor: ChiPredictor, solvents: set[str]) -> None:
    """The MAP fit of issue 12 alone (embeddings computed beforehand): 20 χ tests, every member."""
    import numpy as np

    from chi_lite.calibration import fit_embedding, predict_members

    model = predictor.factorized
    prior = model.embed_polymers(predictor.polymer_descriptors(PS)[None])[0].astype(np.float64)
    chosen = sorted(solvents)[:20]
    embedded = predictor.solvent_embeddings(chosen)
    temps = np.full(len(chosen), 298.15)
    chi = predict_members(model.head, prior, embedded, temps)[0].mean(axis=1) + 0.3
    no_labels = np.full(len(chosen), np.nan)
    seconds = _best_of(lambda: fit_embedding(model.head, prior, embedded, temps, chi, no_labels))
    print(f"calibration fit, {len(chosen)} χ tests, {model.head.members} members: {1e3 * seconds:.1f} ms")


def main() -> None:
    print(f"load average before: {_load()} (2 cores; other jobs share the machine)")
    polymers, solvents = chi_molecules(DATA)
    polymers |= COMMON_POLYMERS_OUTSIDE_THE_DATA
    predictor = ChiPredictor()
    model_dir = predictor.artifact.directory
    featurization(predictor, polymers, solvents)
    latency(predictor, solvents)
    calibration_fit(predictor, solvents)
    molecules = _hansen_smiles()
    new_solvents(model_dir, molecules)
    group_contribution_cost(predictor, molecules)
    with Screener(model_dir) as screener:
        cached_pairs(screener, molecules)
    torch_vs_onnxruntime(predictor, polymers, solvents)
    million_row_screen(model_dir, molecules)
    print(f"load average after: {_load()}")


if __name__ == "__main__":
    sys.exit(main())
