"""Phase diagrams: the API on synthetic χ(T), `chi-lite phase` on the tiny and the shipped model, and the PNG."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from chi_lite import ChiPredictor, PhaseDiagram
from chi_lite.flory_huggins import critical_chi, critical_phi
from chi_lite.phase import build_phase_diagram
from chi_lite.answer import AnswerContext, verdict_fields
from chi_lite.predictor import ChiPrediction
from chi_lite.verdict import VerdictModel

from .conftest import SHIPPED
from .shared_data import heavy_modules_after
from .test_cli import PS, run

CYCLOHEXANE = "C1CCCCC1"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class SyntheticPredictor:
    """χ(T) = A + B/T with a fixed spread: the diagram builder needs only these two methods."""

    def __init__(self, a: float, b: float, std: float = 0.02) -> None:
        self.a, self.b, self.std = a, b, std

    def _at(self, t: float, chain_length: float | None = None) -> ChiPrediction:
        chi = self.a + self.b / t
        fields = verdict_fields(AnswerContext(VerdictModel(), None), "*CC(*)c1ccccc1", "C1CCCCC1", t, chi, self.std,
                                self.a, self.b, None, chain_length)
        return ChiPrediction("P", "S", t, chi, self.std, self.a, self.b, **fields)

    def predict(self, polymer, solvent, temperature, *, kelvin=False):
        return self._at(temperature if kelvin else temperature + 273.15)

    def predict_temperatures(self, polymer, solvent, temperatures_k, *, chain_length=None):
        return [self._at(t, chain_length) for t in temperatures_k]


def _check_dome(diagram: PhaseDiagram, two_phase_below: bool) -> None:
    tc = diagram.critical.temperature_k
    critical_rows = [p for p in diagram.points if p.temperature_k == tc]
    assert len(critical_rows) == 1, "T_c is one of the rows"
    c = critical_rows[0]
    assert c.binodal_poor == c.binodal_rich == c.spinodal_poor == c.spinodal_rich == pytest.approx(critical_phi(diagram.chain_length))
    for p in diagram.points:
        if p.temperature_k == tc:
            continue
        inside = (p.temperature_k < tc) == two_phase_below
        if inside:
            assert p.binodal_poor < p.spinodal_poor < p.spinodal_rich < p.binodal_rich
            assert p.p_miscible < 0.5 and p.verdict == "insoluble"
        else:
            assert p.binodal_poor is None and p.spinodal_rich is None and p.p_miscible > 0.5


def test_ucst_diagram_from_synthetic_chi():
    d = build_phase_diagram(SyntheticPredictor(0.2, 92.3), PS, CYCLOHEXANE, 1000, -20, 60, points=17)
    assert d.critical.behaviour == "UCST" and d.chi_critical == critical_chi(1000)
    assert d.critical.temperature_k == pytest.approx(92.3 / (critical_chi(1000) - 0.2))
    assert len(d.points) == 18
    _check_dome(d, two_phase_below=True)


def test_lcst_diagram_from_synthetic_chi():
    d = build_phase_diagram(SyntheticPredictor(1.0, -150.0), PS, CYCLOHEXANE, 100, 0, 150, points=16)
    assert d.critical.behaviour == "LCST"
    _check_dome(d, two_phase_below=False)


@pytest.mark.parametrize("a, b, behaviour", [(0.2, -50.0, "always miscible"), (0.7, 30.0, "never miscible")])
def test_diagram_without_a_critical_point_in_range(a, b, behaviour):
    d = build_phase_diagram(SyntheticPredictor(a, b), PS, CYCLOHEXANE, 1000, 0, 100, points=11)
    assert d.critical.behaviour == behaviour and len(d.points) == 11
    two_phase = [p.binodal_rich is not None for p in d.points]
    assert all(two_phase) if behaviour == "never miscible" else not any(two_phase)
    json.dumps(d.to_dict(), allow_nan=False)  # valid JSON: single-phase compositions are null, not NaN


def test_api_on_the_tiny_model(tiny_model_dir):
    predictor = ChiPredictor(tiny_model_dir)
    d = predictor.phase_diagram(PS, CYCLOHEXANE, 200, 0, 100, points=5)
    assert isinstance(d, PhaseDiagram) and d.chain_length == 200 and len(d.points) >= 5
    single = predictor.predict(PS, CYCLOHEXANE, 0)
    assert d.points[0].chi == pytest.approx(single.chi, abs=1e-6) and d.A == single.A
    verdict = single.miscibility(200)
    at_200 = predictor.predict(PS, CYCLOHEXANE, 0, chain_length=200)
    assert verdict.chi_critical == critical_chi(200) == at_200.chi_critical
    assert (verdict.p_miscible, verdict.miscible, verdict.verdict) == (at_200.p_miscible, at_200.miscible, at_200.verdict)


def test_cli_phase_on_the_tiny_model(tiny_model_dir, tmp_path):
    args = ["phase", "--polymer", PS, "--solvent", CYCLOHEXANE, "--chain-length", "1000", "--points", "5"]
    table = run(*args, model=tiny_model_dir)
    assert table.returncode == 0, table.stderr
    assert "chi_critical  0.5321" in table.stdout and "binodal_poor" in table.stdout and "behaviour" in table.stdout
    record = json.loads(run(*args, "--format", "json", model=tiny_model_dir).stdout)
    assert record["chain_length"] == 1000 and record["behaviour"] in ("UCST", "LCST", "always miscible", "never miscible")
    assert len(record["points"]) >= 5
    csv_lines = run(*args, "--format", "csv", model=tiny_model_dir).stdout.splitlines()
    assert csv_lines[0].startswith("temperature_c,temperature_k,chi,chi_std,p_miscible,verdict,domain,binodal_poor")
    png = tmp_path / "phase.png"
    drawn = run(*args, "--plot", str(png), model=tiny_model_dir)
    assert drawn.returncode == 0 and f"wrote {png}" in drawn.stderr
    assert png.read_bytes()[:8] == PNG_MAGIC


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--chain-length", "0"], "below 1"),
        (["--chain-length", "many"], "not a number"),
        (["--chain-length", "100", "--tmin", "50", "--tmax", "20"], "must be above tmin"),
        (["--chain-length", "100", "--tmin", "-300"], "absolute zero"),
        (["--chain-length", "100", "--points", "1"], "points"),
        ([], "--chain-length"),
    ],
)
def test_cli_phase_bad_input_is_one_line_exit_2(tiny_model_dir, extra, message):
    out = run("phase", "--polymer", PS, "--solvent", CYCLOHEXANE, *extra, model=tiny_model_dir)
    assert out.returncode == 2 and out.stderr.startswith("error: ") and out.stderr.count("\n") == 1, out.stderr
    assert message in out.stderr


@pytest.mark.parametrize("suffix, magic", [(".pdf", b"%PDF"), (".svg", b"<?xml")])
def test_plot_format_follows_the_extension_and_dpi_sets_png_size(tiny_model_dir, tmp_path, suffix, magic):
    args = ["phase", "--polymer", "polystyrene", "--solvent", "cyclohexane", "--chain-length", "1000", "--points", "5"]
    drawn = run(*args, "--plot", str(tmp_path / f"phase{suffix}"), model=tiny_model_dir)
    assert drawn.returncode == 0, drawn.stderr
    assert (tmp_path / f"phase{suffix}").read_bytes()[: len(magic)] == magic
    sizes = []
    for dpi in ("50", "100"):
        png = tmp_path / f"phase{dpi}.png"
        assert run(*args, "--plot", str(png), "--dpi", dpi, model=tiny_model_dir).returncode == 0
        sizes.append(int.from_bytes(png.read_bytes()[16:20], "big"))  # IHDR width
    assert sizes[1] == 2 * sizes[0]


def test_plot_with_an_unknown_extension_is_refused_before_any_work(tiny_model_dir, tmp_path):
    out = run("phase", "--polymer", PS, "--solvent", CYCLOHEXANE, "--chain-length", "100",
              "--plot", str(tmp_path / "phase.txt"), model=tiny_model_dir)
    assert out.returncode == 2 and out.stdout == "" and not (tmp_path / "phase.txt").exists()
    assert out.stderr.startswith("error: cannot tell the plot format") and ".png, .pdf, .svg" in out.stderr


def test_phase_help_says_names_work_and_lists_plot_formats():
    text = " ".join(run("phase", "--help").stdout.split())  # help text is wrapped
    assert "Polymer name" in text and "Solvent name" in text
    assert "PNG, PDF or SVG by its extension" in text and "--dpi" in text


def test_plot_without_matplotlib_names_the_extra(tiny_model_dir, tmp_path):
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"  # what an install without the extra looks like
        "from chi_lite.cli import main\n"
        f"main(['phase', '--polymer', {PS!r}, '--solvent', 'C1CCCCC1', '--chain-length', '100', "
        f"'--plot', {str(tmp_path / 'p.png')!r}, '--model', {str(tiny_model_dir)!r}])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr == "error: plotting needs matplotlib, which is not installed: pip install 'chi-lite[plot]'\n"


def test_phase_loads_neither_torch_nor_matplotlib_without_plot(tiny_model_dir):
    printed, loaded = heavy_modules_after(
        "import sys\n"
        "from chi_lite import ChiPredictor\n"
        f"d = ChiPredictor({str(tiny_model_dir)!r}).phase_diagram('*CC(*)c1ccccc1', 'C1CCCCC1', 1000, points=5)\n"
        "print('matplotlib' in sys.modules)\n"
    )
    assert printed == "False" and loaded == []


def test_cli_phase_on_the_shipped_model(tmp_path):
    """Polystyrene in cyclohexane at N = 1000 (θ ≈ 34.5 °C): the diagram is consistent with the model's χ(T)."""
    png = tmp_path / "ps_cyclohexane.png"
    out = run("phase", "--polymer", PS, "--solvent", CYCLOHEXANE, "--chain-length", "1000", "--format", "json",
              "--plot", str(png), "--model", str(SHIPPED))
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["chi_critical"] == pytest.approx(critical_chi(1000)) and png.read_bytes()[:8] == PNG_MAGIC
    for p in d["points"]:
        chi_fh = d["A"] + d["B"] / p["temperature_k"]
        assert math.isclose(chi_fh, p["chi"], abs_tol=1e-4)
        assert (p["binodal_rich"] is not None) == (chi_fh >= d["chi_critical"])
