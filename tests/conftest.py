"""Fixtures shared by every test folder. Helpers that tests import live in plain modules of this package
(`tests.images`, `tests.plot_fixtures`, `tests.sweep.synthetic`): tests/ is a package, so pytest puts the
repository root on sys.path and `from tests.images import ...` works without any path edit."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.images import write_image_folder


@pytest.fixture
def tiny_cifar(tmp_path: Path) -> Path:
    """A 3-class image folder: 24 train and 8 test images per class, 32x32 PNG."""
    return write_image_folder(tmp_path / "tiny")


@pytest.fixture(autouse=True)
def _few_threads(monkeypatch):
    """Keep tests deterministic and polite on a shared 2-core machine."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture
def no_drawing(monkeypatch):
    """`plot` without rendering figures (drawing is covered by tests/figures): a fake PNG stands in."""
    from mixup_bench.figures import figures

    def fake_plot_experiment(data, out_dir, **kwargs):
        path = Path(out_dir) / "fake.png"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"")
        return [path]

    monkeypatch.setattr(figures, "plot_experiment", fake_plot_experiment)


# The identity every run records while the tests run (mixup_bench.provenance): the code's real commit and source
# hash, but clean, whatever state the shared working tree is in, so that `plot` and `status` do not warn about
# uncommitted changes that other people's edits make. The real source hash keeps runs trained in this process
# and runs trained by a CLI subprocess (which records the real identity) one version of the code.
# tests/test_provenance.py tests the real function and is left alone.
REAL_IDENTITY_MODULES = ("tests.test_provenance",)


@pytest.fixture(scope="session")
def clean_identity() -> tuple[str | None, bool | None, str]:
    """(git sha, dirty, source hash) of this checkout as `provenance._identity` gives it, marked clean."""
    from mixup_bench import provenance

    sha, _, source = provenance._identity()
    return sha, (False if sha else None), source


@pytest.fixture(autouse=True)
def _clean_code_identity(request, monkeypatch):
    """Patch `provenance._identity` (behind `code_identity`) to `clean_identity`, except in the provenance tests."""
    if request.module.__name__ in REAL_IDENTITY_MODULES:
        return
    from mixup_bench import provenance

    identity = request.getfixturevalue("clean_identity")
    monkeypatch.setattr(provenance, "_identity", lambda: identity)
