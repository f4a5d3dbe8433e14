"""Drawing a phase diagram to PNG with matplotlib, the optional `plot` extra (imported only here, only when asked)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import PlotUnavailableError
from .phase import PhaseDiagram
from .units import KELVIN_OFFSET

INSTALL_HINT = "pip install 'chi-lite[plot]'"


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise PlotUnavailableError(f"plotting needs matplotlib, which is not installed: {INSTALL_HINT}") from None
    matplotlib.use("Agg")  # files only: never open a window or need a display
    import matplotlib.pyplot as plt

    return plt


def plot_phase_diagram(diagram: PhaseDiagram, path: Path | str, *, dpi: int = 110) -> Path:
    """Binodal (solid), spinodal (dashed) and critical point on temperature (°C) vs polymer volume fraction."""
    plt = _pyplot()
    path = Path(path)
    t = [p.temperature_c for p in diagram.points]
    two_phase = [p for p in diagram.points if p.binodal_rich is not None]  # the branches meet at T_c

    fig, ax = plt.subplots(figsize=(5.6, 4.0))
    if two_phase:
        ty = [p.temperature_c for p in two_phase]
        ax.fill_betweenx(ty, [p.binodal_poor for p in two_phase], [p.binodal_rich for p in two_phase],
                         color="tab:blue", alpha=0.12, lw=0, label="two phases")
        ax.plot([p.binodal_poor for p in two_phase], ty, color="tab:blue", lw=1.8, label="binodal")
        ax.plot([p.binodal_rich for p in two_phase], ty, color="tab:blue", lw=1.8)
        ax.plot([p.spinodal_poor for p in two_phase], ty, color="tab:red", lw=1.2, ls="--", label="spinodal")
        ax.plot([p.spinodal_rich for p in two_phase], ty, color="tab:red", lw=1.2, ls="--")
    tc = diagram.critical.temperature_k
    if diagram.critical.in_range and tc is not None:
        ax.plot([diagram.phi_critical], [tc - KELVIN_OFFSET], "ko", ms=5, label=f"critical point ({diagram.critical.kind} {tc - KELVIN_OFFSET:.1f} °C)")
    ax.set_xlim(0, 1)
    ax.set_ylim(min(t), max(t))
    ax.set_xlabel("polymer volume fraction φ")
    ax.set_ylabel("temperature (°C)")
    ax.set_title(
        f"{diagram.polymer} in {diagram.solvent}, N = {diagram.chain_length:g}\n{diagram.critical.describe()}", fontsize=9
    )
    if not two_phase:
        ax.text(0.5, 0.5, diagram.critical.describe(), ha="center", va="center", transform=ax.transAxes)
    else:
        ax.legend(loc="best", fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
