"""`make check-textbook`: score the shipped model's verdict on textbook solubility facts.

Evaluation only: train/evaluation/textbook_solubility.csv never enters training and no runtime
code knows its pairs. Prints the verdict's accuracy (p_miscible ≥ 0.5), the wrong rows, the
same for the old classifier alone (p_classifier ≥ 0.5, room temperature), and the named cases.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from chi_lite import ChiPredictor

NAMED = [  # the must-get-right cases: (polymer, solvent, °C)
    ("poly(ethylene oxide)", "water", 25), ("polystyrene", "toluene", 25), ("polyethylene", "toluene", 25),
    ("polyethylene", "p-xylene", 130), ("poly(N-isopropylacrylamide)", "water", 20),
    ("poly(N-isopropylacrylamide)", "water", 45), ("polystyrene", "cyclohexane", 60), ("nylon 6", "formic acid", 25),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("facts", type=Path, nargs="?", default=Path(__file__).with_name("textbook_solubility.csv"))
    parser.add_argument("--model", default=None, help="model directory (default: the shipped model)")
    args = parser.parse_args(argv)
    with open(args.facts, newline="", encoding="utf-8") as handle:
        facts = list(csv.DictReader(handle))
    predictor = ChiPredictor(args.model)
    outcomes = predictor.predict_many([(f["polymer"], f["solvent"], f["temperature_c"]) for f in facts])
    right = {"verdict": 0, "classifier": 0}
    wrong_rows, named = [], {}
    for fact, outcome in zip(facts, outcomes):
        truth = fact["soluble"] == "yes"
        if not outcome.ok:
            wrong_rows.append(f"  ERROR {fact['polymer']} / {fact['solvent']} @ {fact['temperature_c']} °C: {outcome.error}")
            continue
        r = outcome.result
        ok = r.miscible == truth
        right["verdict"] += ok
        right["classifier"] += r.p_classifier is not None and (r.p_classifier >= 0.5) == truth
        key = (fact["polymer"], fact["solvent"], float(fact["temperature_c"]))
        named[key] = ok
        if not ok:
            wrong_rows.append(
                f"  {fact['polymer']} / {fact['solvent']} @ {fact['temperature_c']} °C: textbook {fact['soluble']}, "
                f"model {r.verdict} (p_miscible {r.p_miscible:.2f}, χ {r.chi:.2f}, "
                f"t_dissolve {'—' if r.t_dissolve_c is None else f'{r.t_dissolve_c:.0f} °C'}, domain {r.domain})"
            )
    n = len(facts)
    polymers = len({f["polymer"] for f in facts})
    print(f"textbook facts: {n} rows, {polymers} polymers ({args.facts.name})")
    print(f"verdict    (p_miscible ≥ 0.5):            accuracy {right['verdict'] / n:.3f} ({right['verdict']}/{n})")
    if predictor.reports_miscibility:
        print(f"classifier (p_classifier ≥ 0.5, 25 °C):  accuracy {right['classifier'] / n:.3f} ({right['classifier']}/{n})")
    print("named cases:")
    for polymer, solvent, t in NAMED:
        state = named.get((polymer, solvent, float(t)))
        print(f"  {'right' if state else 'WRONG' if state is not None else 'absent'}  {polymer} / {solvent} @ {t} °C")
    print(f"wrong rows ({len(wrong_rows)}):")
    print("\n".join(wrong_rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
