"""`make bench`: featurization time and prediction latency of the shipped model (not a test).

Prints medians of repeated runs measured side by side in one process, so the
ratios are meaningful even on a noisy machine.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

from chi_lite import ChiPredictor

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


def _best_of(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    polymers, solvents = chi_molecules(DATA)
    polymers |= COMMON_POLYMERS_OUTSIDE_THE_DATA
    predictor = ChiPredictor()
    f = predictor.featurizer
    poly = sorted((_best_of(lambda: f.polymer(p)), p) for p in polymers)
    solv = sorted((_best_of(lambda: f.solvent(s)), s) for s in solvents)
    print(f"featurize polymer (cyclic {f.config.oligomer_length}-mer, {len(f.config.polymer_descriptors)} descriptors), "
          f"{len(poly)} polymers (data + 5 aromatic/large): median {1e3 * statistics.median(t for t, _ in poly):.1f} ms, "
          f"max {1e3 * poly[-1][0]:.1f} ms ({poly[-1][1]})")
    print(f"featurize solvent ({len(f.config.solvent_descriptors)} descriptors), {len(solv)} solvents: "
          f"median {1e3 * statistics.median(t for t, _ in solv):.2f} ms, max {1e3 * solv[-1][0]:.2f} ms")

    ps = "*CC(*)c1ccccc1"
    predictor.predict(ps, "Cc1ccccc1", 25)
    warm = _best_of(lambda: predictor.predict(ps, "Cc1ccccc1", 25), 50)
    new_solvents = sorted(solvents)
    start = time.perf_counter()
    for s in new_solvents:
        predictor._solvents.clear()
        predictor.predict(ps, s, 25)
    new = (time.perf_counter() - start) / len(new_solvents)
    pairs = [(p, s, 25.0) for p in sorted(polymers) for s in sorted(solvents)]
    predictor.predict_many(pairs[:10])
    batch = _best_of(lambda: predictor.predict_many(pairs), 3)
    print(f"single pair, both cached: {1e3 * warm:.3f} ms; new solvent, known polymer: {1e3 * new:.2f} ms "
          f"(paper 110 ms per pair, COSMO-RS 4100 ms)")
    print(f"batch of {len(pairs)} pairs (descriptors cached): {len(pairs) / batch:,.0f} pairs/s on "
          f"{predictor._session.get_session_options().intra_op_num_threads} thread")


if __name__ == "__main__":
    sys.exit(main())
