"""The `mixup-bench` command line. Thin commands: parse options into a config,
call a plain function, turn a UserError into one line and exit code 2."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from mixup_bench.config import MAX_SEEDS, PRESETS, ExperimentConfig, check_int, default_data_dir, experiment_from_preset
from mixup_bench.errors import UserError

app = typer.Typer(
    name="mixup-bench",
    help="Train a small CNN on CIFAR-10 with and without MixUp, log per-epoch CSVs, and plot what MixUp does.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def console() -> Console:
    return Console(highlight=False)


@contextmanager
def user_errors() -> Iterator[None]:
    """Map known errors to one line on stderr and exit code 2: a UserError (its message), an OSError
    that escaped the code's own handling (`cannot access <path>: <reason>`; writes say `cannot
    write`, see errors.WriteError), and running out of memory. The text is the user's (paths, names)
    and is printed as it is, never read as Rich markup."""
    try:
        yield
    except UserError as e:
        _error_line(str(e))
    except OSError as e:
        _error_line(os_error_line(e))
    except MemoryError:
        _error_line(_OUT_OF_MEMORY)
    except RuntimeError as e:  # torch.OutOfMemoryError, or the CPU allocator's RuntimeError
        if type(e).__name__ != "OutOfMemoryError" and "allocate memory" not in str(e):
            raise
        _error_line(_OUT_OF_MEMORY)


_OUT_OF_MEMORY = "out of memory; lower --batch-size (or --jobs), or use a smaller --model."


def _error_line(text: str) -> None:
    err = Console(stderr=True, highlight=False)
    err.print(f"[red]error:[/red] {escape(' '.join(text.split()))}", soft_wrap=True)
    raise typer.Exit(2)


def os_error_line(e: OSError) -> str:
    """One line for an OSError: the path(s) it names and the reason."""
    reason = e.strerror or str(e) or type(e).__name__
    if e.filename is None:
        return f"{reason} ({type(e).__name__})"
    target = f"{e.filename} -> {e.filename2}" if e.filename2 is not None else f"{e.filename}"
    return f"cannot access {target}: {reason}"


DataDir = Annotated[
    Path,
    typer.Option(
        "--data-dir",
        help="CIFAR-10 folder: torchvision's files (downloaded here if absent) or train/<class>/ + test/<class>/ "
        "image folders. Env: MIXUP_BENCH_DATA.",
        show_default="./data",
    ),
]


def _opt(help: str, *names: str):
    return typer.Option(*names, help=help, show_default=False)


@app.command()
def run(
    preset: Annotated[str, typer.Option(help=f"Named configuration: {', '.join(PRESETS)}. Flags override it.")] = (
        "default"
    ),
    alpha: Annotated[
        list[float] | None,
        _opt("MixUp alpha of an arm; repeat for several. lam ~ Beta(alpha, alpha). Preset: 0.4.", "--alpha", "-a"),
    ] = None,
    cutmix: Annotated[
        list[float] | None, _opt("CutMix arm with this alpha (box of area 1-lam from the partner); repeatable.")
    ] = None,
    label_smoothing: Annotated[
        list[float] | None, _opt("Label-smoothing arm with this epsilon (no mixing); repeatable.")
    ] = None,
    manifold_mixup: Annotated[
        list[float] | None, _opt("Manifold MixUp arm with this alpha (mixes hidden states); repeatable.")
    ] = None,
    lam_mode: Annotated[
        str | None, _opt("MixUp lam: one per batch (batch, the paper's) or one per image (elem, timm's).")
    ] = None,
    seed: Annotated[list[int] | None, _opt("Seed; repeat for several (instead of --seeds).", "--seed")] = None,
    seeds: Annotated[int | None, _opt("Use seeds 0..N-1. Preset: 3.", "--seeds")] = None,
    baseline: Annotated[
        bool | None, _opt("Add the alpha=0 (plain ERM) arm. Default: on.", "--baseline/--no-baseline")
    ] = None,
    epochs: Annotated[int | None, _opt("Epochs per run. Preset: 15.")] = None,
    batch_size: Annotated[int | None, _opt("Images per SGD step. Preset: 128.")] = None,
    lr: Annotated[float | None, _opt("Peak learning rate (linear warmup, linear decay to 0). Preset: 0.1.")] = None,
    weight_decay: Annotated[float | None, _opt("Weight decay (L2). Preset: 5e-4.")] = None,
    model: Annotated[str | None, _opt("small-cnn (0.29M params) or preact-resnet18 (11M). Preset: small-cnn.")] = None,
    augment: Annotated[
        bool | None,
        _opt("Random crop (pad 4) + flip. Preset: off, so MixUp is the only regulariser.", "--augment/--no-augment"),
    ] = None,  # fmt: skip
    subset: Annotated[
        int | None, _opt("Train on the first N images of a fixed shuffle; 0 = all 50,000. Preset: 10,000.")
    ] = None,
    label_noise: Annotated[
        float | None, _opt("Share of training labels made wrong, the same for every arm of a seed. Preset: 0.")
    ] = None,
    clean_train_size: Annotated[
        int | None, _opt("Unaugmented training images evaluated per epoch for clean_train_*. Preset: 2,000.")
    ] = None,
    device: Annotated[str | None, _opt("auto | cpu | cuda | mps. Default: auto.")] = None,
    precision: Annotated[str | None, _opt("auto (bf16 where the hardware has it) | fp32 | bf16.")] = None,
    compile: Annotated[bool | None, _opt("torch.compile the model. Default: off.", "--compile/--no-compile")] = None,
    data_dir: DataDir = None,  # type: ignore[assignment]
    out: Annotated[Path, typer.Option(help="Results root.")] = Path("results"),
    name: Annotated[str | None, _opt("Experiment name: results go to <out>/<name>/. Default: the preset's.")] = None,
    jobs: Annotated[int | None, _opt("Runs at once, in separate processes (local backend). Preset: 2.")] = None,
    backend: Annotated[str | None, _opt("local | ray. Default: local.")] = None,
    ray_address: Annotated[str | None, _opt("Ray cluster: auto or HOST:PORT. Default: start a local Ray.")] = None,
    gpus_per_run: Annotated[float | None, _opt("Ray: GPUs (or a fraction) per run. Default: 0.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:
    """Train the baseline and one MixUp arm per --alpha, for every seed, writing per-epoch CSVs.

    Without flags this is the `default` preset: 3 paired seeds on a 10,000-image subset, about 11 minutes on a
    2-core CPU, ending in a verdict with intervals (`mixup-bench plot`).

    Re-running the same command skips finished runs and resumes unfinished ones.
    """
    with user_errors():
        if seeds is not None and seed:
            raise UserError("Give --seed or --seeds, not both.")
        if seeds is not None:
            check_int("--seeds", seeds, 1, MAX_SEEDS)
        exp = experiment_from_preset(
            preset,
            name=name, out=out, alphas=tuple(alpha) if alpha else None,
            seeds=tuple(range(seeds)) if seeds is not None else (tuple(dict.fromkeys(seed)) if seed else None),
            cutmix=tuple(cutmix) if cutmix else None, smoothing=tuple(label_smoothing) if label_smoothing else None,
            manifold=tuple(manifold_mixup) if manifold_mixup else None, lam_mode=lam_mode,
            baseline=baseline, epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay, model=model,
            augment=augment, precision=precision, subset=subset, label_noise=label_noise,
            clean_train_size=clean_train_size, compile=compile, device=device, data_dir=data_dir or default_data_dir(),
            jobs=jobs, backend=backend, ray_address=ray_address, gpus_per_run=gpus_per_run,
        )  # fmt: skip
        _run_and_report(exp, quiet)


def _run_and_report(exp: ExperimentConfig, quiet: bool) -> None:
    from mixup_bench.sweep.progress import final_table, make_reporter
    from mixup_bench.sweep.runner import run_experiment

    out_console = console()
    exp.validate()
    with make_reporter(out_console, len(exp.runs()), quiet) as reporter:
        outcome = run_experiment(exp, reporter, rerun_command=shlex.join(["mixup-bench", *sys.argv[1:]]))
    if outcome.finished and not quiet:
        out_console.print(final_table(outcome.finished))
    plot_cmd = shlex.join(["mixup-bench", "plot", str(exp.path)])
    out_console.print(escape(f"Results: {exp.path}  (draw them with: {plot_cmd})"), soft_wrap=True)
    if outcome.stopped:
        raise typer.Exit(130)


@app.command()
def plot(
    experiment: Annotated[
        Path, typer.Argument(help="Experiment folder, or a results root (its latest experiment is used).")
    ] = Path("results"),
    reference: Annotated[
        str | None,
        _opt(
            "Also pair every other arm with this arm (its run id without -s<seed>: mixup-a0.2, cutmix-a1, "
            "smooth-e0.1, manifold-a2): a second table in summary.md and paired_vs_<arm>.csv."
        ),
    ] = None,
) -> None:
    """Draw the figures and write summary.csv / summary.md with a seed-aware verdict."""
    with user_errors():
        from mixup_bench.analysis.report import make_report

        make_report(experiment, console(), reference=reference)


@app.command()
def compare(
    experiments: Annotated[
        list[Path], typer.Argument(help="Two or more experiment folders that differ in one training setting.")
    ],
    setting: Annotated[
        str | None,
        _opt("The setting to compare along (subset, label_noise, epochs, model, ...). Default: the one that differs."),
    ] = None,
    out: Annotated[Path | None, _opt("Output folder. Default: <common parent>/compare-<setting>.")] = None,
) -> None:
    """Regime map: MixUp − baseline (paired by seed, 95% CI) against the setting the experiments differ in.

    Writes regime_map.csv, regime_map.md and regime_map.png/.svg, e.g.
    `mixup-bench compare results/subset-5k results/subset-20k results/subset-50k`.
    """
    with user_errors():
        from mixup_bench.analysis.compare import compare_experiments, print_comparison

        print_comparison(compare_experiments(experiments, out, setting=setting), console())


@app.command()
def status(
    experiment: Annotated[
        Path, typer.Argument(help="Experiment folder, or a results root (its latest experiment is used).")
    ] = Path("results"),
) -> None:
    """List each run as done, partial (epoch k/N), locked or not started, with its last test accuracy."""
    with user_errors():
        from mixup_bench.sweep.status import experiment_status, status_table

        console().print(status_table(experiment_status(experiment)))


@app.command()
def data(
    data_dir: DataDir = None,  # type: ignore[assignment]
    download: Annotated[bool, typer.Option("--download/--no-download", help="Download if absent.")] = False,
) -> None:
    """Check (or fetch) CIFAR-10: say where it is and what it holds."""
    with user_errors():
        from mixup_bench.train.data import load_cifar10

        c = console()
        ds = load_cifar10(
            data_dir or default_data_dir(),
            download=download,
            progress=lambda m: c.print(m, markup=False, soft_wrap=True),
        )
        info = ds.describe()
        for line in (
            f"CIFAR-10 from {info['source']} at {info['root']}",
            f"  train: {info['train_images']:,} images, per class {info['train_per_class']}",
            f"  test:  {info['test_images']:,} images, per class {info['test_per_class']}",
            f"  classes: {', '.join(info['classes'])}",
        ):
            c.print(line, markup=False, soft_wrap=True)  # paths and class folder names are the user's text


@app.command()
def bench(
    model: Annotated[str, typer.Option(help="small-cnn or preact-resnet18.")] = "small-cnn",
    batch_size: Annotated[int, typer.Option(help="Images per step, both pipelines.")] = 256,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda | mps.")] = "auto",
    precision: Annotated[
        str, typer.Option(help="Of the project's pipeline: auto (bf16 where native) | fp32 | bf16. Naive: fp32.")
    ] = "auto",
    steps: Annotated[int, typer.Option(help="Timed steps per pipeline and round.")] = 20,
    warmup: Annotated[int, typer.Option(help="Untimed steps before them.")] = 5,
    rounds: Annotated[int, typer.Option(help="Rounds (project then naive, each); medians are reported.")] = 3,
    compile: Annotated[bool, typer.Option("--compile/--no-compile", help="torch.compile the project's model.")] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="CIFAR-10 folder (as for run). Default: synthetic images, said in the output."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Where to write the results as JSON.")] = Path("bench.json"),
    workers: Annotated[
        int | None, typer.Option(help="DataLoader workers of the naive pipeline. Default: chosen for this machine.")
    ] = None,
    epoch: Annotated[
        bool, typer.Option("--epoch/--no-epoch", help="Also time one real epoch + evaluation (50,000 + 20,000 images).")
    ] = False,
) -> None:
    """Training throughput (images/s) of this project's pipeline against a naive reference pipeline."""
    with user_errors():
        from mixup_bench.bench.bench import run_bench
        from mixup_bench.config import BenchConfig

        cfg = BenchConfig(
            model=model, batch_size=batch_size, device=device, precision=precision, steps=steps, warmup=warmup,
            rounds=rounds, compile=compile, data_dir=data_dir, out=out, workers=workers, epoch=epoch,
        )  # fmt: skip
        run_bench(cfg, console())


def main() -> None:  # pragma: no cover - console script entry
    app()
