"""The x-axis value labels of `compare`'s regime map stay apart however many experiments there are (issue 18:
with about 20 they overlapped). Checked on the rendered pixels: no two labels share ink."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from mixup_bench.figures.regime_map import fit_tick_labels


def panels(labels: list[str], log: bool = False):
    """The regime map's layout (2 x 2 panels sharing x, a legend on the right) with these value labels."""
    fig = Figure(figsize=(12.5, 8.6), layout="constrained")
    axes = fig.subplots(2, 2, sharex=True).ravel()
    ticks = [1000 * 1.2**i for i in range(len(labels))] if log else list(range(len(labels)))
    for ax in axes:
        if log:
            ax.set_xscale("log")
        ax.plot(ticks, np.zeros(len(ticks)), "o")
        ax.set_xticks(ticks, labels)
    fig.legend(handles=[Line2D([], [], marker="o", label="MixUp α=0.4 (a legend as wide as the real one)")],
               loc="outside right upper")  # fmt: skip
    fit_tick_labels(fig, axes, ticks, labels)
    return fig, axes[-1]


def ink_of_each_label(fig, ax) -> list[np.ndarray]:
    """For each shown label of `ax`, the pixels it inks (others made transparent: the layout stays the same)."""
    canvas = FigureCanvasAgg(fig)
    texts = [t for t in ax.get_xticklabels() if t.get_text()]

    def render(shown) -> np.ndarray:
        for t in texts:
            t.set_alpha(1.0 if t is shown else 0.0)
        canvas.draw()
        return np.asarray(canvas.buffer_rgba())[..., :3].copy()

    blank = render(None)
    return [np.any(render(t) != blank, axis=-1) for t in texts]


@pytest.mark.parametrize("log", [False, True])
def test_twenty_value_labels_do_not_overlap(log):
    labels = [f"{1000 * (i + 1):,} images" for i in range(20)]
    fig, ax = panels(labels, log)
    shown = [t for t in ax.get_xticklabels() if t.get_text()]
    assert all(t.get_rotation() == 45 for t in shown)
    inks = ink_of_each_label(fig, ax)
    assert all(ink.any() for ink in inks)
    assert not any((a & b).any() for a, b in zip(inks, inks[1:], strict=False))


def test_sixty_labels_keep_every_kth():
    fig, ax = panels([f"{0.01 * i:.2f}" for i in range(60)])
    shown = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert 1 < len(shown) < 60 and shown[0] == "0.00"
    inks = ink_of_each_label(fig, ax)
    assert not any((a & b).any() for a, b in zip(inks, inks[1:], strict=False))


def test_a_few_labels_stay_level():
    fig, ax = panels(["0%", "20%", "40%"])
    assert [t.get_rotation() for t in ax.get_xticklabels()] == [0, 0, 0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0%", "20%", "40%"]
