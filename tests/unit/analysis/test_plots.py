import matplotlib.figure
import numpy as np

from ednn.analysis.plots import parity_plot


def labels_of(monkeypatch, **kwargs) -> list[str]:
    """Axis labels and titles of a parity plot drawn with kwargs."""
    texts = []

    def record(figure, path, **options):
        texts.extend(text for ax in figure.axes for text in (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()))

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", record)
    parity_plot(np.array([1.0, 2.0]), np.array([1.1, 2.1]), 4, "unused.png", "t", **kwargs)
    return texts


def test_parity_plot_names_the_quantity_and_its_unit(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert "true energy per atom (eV)" in labels_of(monkeypatch, unit="eV", site="atom")
    plain = labels_of(monkeypatch, quantity="magnetisation", unit="")
    assert "true magnetisation per site" in plain and "predicted magnetisation per site" in plain
    assert not any(text.endswith(")") or "energy" in text for text in plain)
