"""The `mixup-bench` command line. Thin commands: parse options into a config,
call a plain function, turn a UserError into one line and exit code 2."""

from __future__ import annotations

import platform
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from typer._click import exceptions as click_errors  # Typer's own click, which raises these
from typer.core import TyperCommand, TyperGroup

from mixup_bench.config import PRESETS, BenchConfig, ExperimentConfig, default_data_dir
from mixup_bench.errors import UserError
from mixup_bench.integrations.mlflow_tracker import DEFAULT_STORE as DEFAULT_MLFLOW_STORE
from mixup_bench.settings import build_experiment, default_help, settings_toml
from mixup_bench.streams import guarded_streams, shortened, shown


class _App(TyperGroup):
    """The command group: a usage error (an unknown option, a value of the wrong type, a missing --to) is
    one line on stderr and exit code 2, as every other error is, rather than a box of usage and help."""

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except click_errors.NoArgsIsHelpError as e:  # `mixup-bench` alone: the help (printed as it was made)
            sys.exit(e.exit_code)
        except click_errors.UsageError as e:
            hint = f" (`{e.ctx.command_path} --help` lists the options)" if e.ctx is not None else ""
            Console(stderr=True, highlight=False).print(
                f"[red]error:[/red] {escape(shown(shortened(' '.join(e.format_message().split()))))}{escape(hint)}",
                soft_wrap=True,
            )
            sys.exit(e.exit_code)
        except click_errors.ClickException as e:
            e.show()
            sys.exit(e.exit_code)
        except typer.Abort:
            Console(stderr=True).print("Aborted.")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=_App,
    name="mixup-bench",
    help="Train a small CNN on CIFAR-10 with and without MixUp, log per-epoch CSVs, and plot what MixUp does.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        from mixup_bench import __version__

        try:
            torch_version = version("torch")  # read from its metadata: importing torch takes seconds
        except PackageNotFoundError:
            torch_version = "not installed"
        typer.echo(f"mixup-bench {__version__} (torch {torch_version}, Python {platform.python_version()})")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool | None,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the mixup-bench and torch versions."
        ),
    ] = None,
) -> None:
    # The app's help is Typer(help=...); this callback only carries the options of `mixup-bench` itself.
    pass


def console() -> Console:
    return Console(highlight=False)


@contextmanager
def user_errors() -> Iterator[None]:
    """Map known errors to one line on stderr and exit code 2: a UserError (its message), an OSError
    that escaped the code's own handling (`cannot access <path>: <reason>`; writes say `cannot
    write`, see errors.WriteError), and running out of memory. The text is the user's (paths, names)
    and is printed as it is, never read as Rich markup.

    The command runs with guarded standard streams (`streams.guarded_streams`): a closed or broken
    stdout or stderr (`| head -1`) drops the output, says so on the other stream, and the work goes on."""
    with guarded_streams():
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
    err.print(f"[red]error:[/red] {escape(shown(shortened(' '.join(text.split()))))}", soft_wrap=True)
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
        help="Data folder (of --dataset, CIFAR-10 by default): torchvision's files (downloaded here if absent) or "
        "train/<class>/ + test/<class>/ "
        "image folders. Env: MIXUP_BENCH_DATA.",
        show_default="./data",
    ),
]


DatasetOption = Annotated[
    str | None,
    typer.Option(
        "--dataset",
        help="cifar10, cifar100, svhn, fashion-mnist, stl10 (torchvision's files in --data-dir, downloaded if absent), "
        "or folder (train/<class>/ [+ test/<class>/] images of any size in --data-dir). Default: cifar10.",
        show_default=False,
    ),
]


def _opt(help: str, *names: str, key: str | None = None):
    """An option without Typer's default display; `key` appends the setting's default, read from the dataclasses."""
    return typer.Option(*names, help=help + (default_help(key) if key else ""), show_default=False)


# Path options for which an empty value would silently be the current folder (Path("") is Path(".")).
_NONEMPTY_PATHS = ("--out", "--data-dir", "--config", "--logdir")


class _RunCommand(TyperCommand):
    """`run`: `--mlflow` may come without its URI (then ./mlruns), which Typer's parser cannot say.
    An empty path (`--out ""`, `--data-dir=`) is refused here: once parsed, it cannot be told from `.`."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        args = list(args)
        for i, arg in enumerate(args):
            if arg == "--mlflow" and (i + 1 == len(args) or args[i + 1].startswith("-")):
                args[i] = f"--mlflow={DEFAULT_MLFLOW_STORE}"
        _refuse_empty_paths(ctx, args)
        return super().parse_args(ctx, args)


def _refuse_empty_paths(ctx, args: list[str]) -> None:
    for i, arg in enumerate(args):
        if arg == "--":
            return
        option, eq, value = arg.partition("=")
        if option in _NONEMPTY_PATHS and ((eq and not value) or (not eq and i + 1 < len(args) and not args[i + 1])):
            raise typer.BadParameter("an empty path would be the current folder; give a folder, or leave it out.",
                                     ctx=ctx, param_hint=f"'{option}'")  # fmt: skip


class _PathsCommand(TyperCommand):
    """A command whose path options refuse an empty value, as `run`'s do."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        _refuse_empty_paths(ctx, list(args))
        return super().parse_args(ctx, args)


@app.command(cls=_RunCommand)
def run(
    preset: Annotated[str, typer.Option(help=f"Named configuration: {', '.join(PRESETS)}. Flags override it.")] = (
        "default"
    ),
    config: Annotated[
        Path | None,
        _opt("A TOML file of settings (the keys of `mixup-bench presets NAME --toml`) on top of the preset; "
             "flags override it. Its name is the experiment's unless it sets one.", "--config"),
    ] = None,
    alphas: Annotated[
        list[float] | None,
        _opt("MixUp alpha of an arm; repeat for several. lam ~ Beta(alpha, alpha).", "--alpha", "-a", key="alphas"),
    ] = None,
    cutmix: Annotated[
        list[float] | None, _opt("CutMix arm with this alpha (box of area 1-lam from the partner); repeatable.")
    ] = None,
    smoothing: Annotated[
        list[float] | None, _opt("Label-smoothing arm with this epsilon (no mixing); repeatable.", "--label-smoothing")
    ] = None,
    manifold: Annotated[
        list[float] | None,
        _opt("Manifold MixUp arm with this alpha (mixes hidden states); repeatable.", "--manifold-mixup"),
    ] = None,
    lam_mode: Annotated[
        str | None,
        _opt("MixUp lam: one per batch (batch, the paper's) or one per image (elem, timm's).", key="lam_mode"),
    ] = None,
    seed: Annotated[list[int] | None, _opt("Seed; repeat for several (instead of --seeds).", "--seed")] = None,
    n_seeds: Annotated[int | None, _opt("Use seeds 0..N-1.", "--seeds", key="seeds")] = None,
    until_decided: Annotated[
        bool | None,
        _opt("Add paired seeds, --jobs at a time, until every claimed part of the first arm against the baseline "
             "is decided (supported, contradicted or no effect), with error rates that hold under this stopping.",
             "--until-decided/--fixed-seeds", key="until_decided"),
    ] = None,
    max_seeds: Annotated[
        int | None, _opt("The most seeds --until-decided runs (default 10).", "--max-seeds")
    ] = None,
    baseline: Annotated[
        bool | None, _opt("Add the alpha=0 (plain ERM) arm.", "--baseline/--no-baseline", key="baseline")
    ] = None,
    epochs: Annotated[int | None, _opt("Epochs per run.", key="epochs")] = None,
    batch_size: Annotated[int | None, _opt("Images per SGD step.", key="batch_size")] = None,
    lr: Annotated[float | None, _opt("Peak learning rate (linear warmup, linear decay to 0).", key="lr")] = None,
    weight_decay: Annotated[float | None, _opt("Weight decay (L2).", key="weight_decay")] = None,
    model: Annotated[
        str | None, _opt("fast-cnn (0.07M params), small-cnn (0.29M) or preact-resnet18 (11M).", key="model")
    ] = None,
    augment: Annotated[
        bool | None,
        _opt("Random crop (pad 4) + flip; off, MixUp is the only regulariser.", "--augment/--no-augment",
             key="augment"),
    ] = None,
    subset: Annotated[
        int | None,
        _opt("Train on the first N images of a fixed shuffle; 0 = all beside the validation split.", key="subset"),
    ] = None,
    label_noise: Annotated[
        float | None,
        _opt("Share of training labels made wrong, the same for every arm of a seed.", key="label_noise"),
    ] = None,
    clean_train_size: Annotated[
        int | None,
        _opt("Unaugmented training images evaluated per epoch for clean_train_*.", key="clean_train_size"),
    ] = None,
    val_size: Annotated[
        int | None,
        _opt("Validation images held out of the training pool, the same for every seed and arm; 0 = none.",
             key="val_size"),
    ] = None,
    shift: Annotated[
        bool | None,
        _opt("Evaluate on corrupted test images (12 types x 5 severities) and under FGSM/PGD attacks at the last "
             "epoch: corrupt_*, fgsm_acc_*, pgd_acc_2 and corruptions.csv.", "--shift/--no-shift", key="shift"),
    ] = None,
    shift_every: Annotated[
        int | None, _opt("Also run the shift evaluation every K epochs (K >= 1).", key="shift_every")
    ] = None,
    shift_images: Annotated[
        int | None, _opt("Test images per corruption type and severity (a fixed subset).", key="shift_images")
    ] = None,
    cifar10c_dir: Annotated[
        str | None,
        _opt("A folder of the official CIFAR-10-C .npy files (CIFAR-100-C's with --dataset cifar100), used "
             "instead of the built-in corruptions.",
             key="cifar10c_dir"),
    ] = None,
    device: Annotated[str | None, _opt("auto | cpu | cuda | mps.", key="device")] = None,
    precision: Annotated[str | None, _opt("auto (bf16 where the hardware has it) | fp32 | bf16.", key="precision")] = (
        None
    ),
    compile: Annotated[bool | None, _opt("torch.compile the model.", "--compile/--no-compile", key="compile")] = None,
    data_dir: DataDir = None,  # type: ignore[assignment]
    dataset: DatasetOption = None,
    out: Annotated[Path | None, _opt("Results root.", key="out")] = None,
    name: Annotated[str | None, _opt("Experiment name: results go to <out>/<name>/. Default: the preset's.")] = None,
    jobs: Annotated[int | None, _opt("Runs at once, in separate processes (local backend).", key="jobs")] = None,
    backend: Annotated[str | None, _opt("local | ray.", key="backend")] = None,
    ray_address: Annotated[str | None, _opt("Ray cluster: auto or HOST:PORT. Default: start a local Ray.")] = None,
    gpus_per_run: Annotated[float | None, _opt("Ray: GPUs (or a fraction) per run.", key="gpus_per_run")] = None,
    dry_run: Annotated[
        bool, _opt("Print the resolved settings, the runs and the time estimate; train and write nothing.",
                   "--dry-run")
    ] = False,
    tensorboard: Annotated[
        bool, _opt("Log live to TensorBoard: <out>/<name>/tensorboard/<run_id>/.", "--tensorboard")
    ] = False,
    mlflow: Annotated[
        str | None,
        typer.Option("--mlflow", metavar="[URI]", show_default=False,
                     help="Log live to MLflow: a tracking server, a store URI, or a folder "
                     f"(alone: ./{DEFAULT_MLFLOW_STORE})."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
) -> None:  # fmt: skip
    """Train the baseline and one MixUp arm per --alpha, for every seed, writing per-epoch CSVs.

    Without flags this is the `default` preset (`mixup-bench presets` shows it): 3 paired seeds, ending in a
    verdict with intervals (`mixup-bench plot`). Before it trains, it times a few steps on this machine and
    prints how long the whole experiment will take.

    Re-running the same command skips finished runs and resumes unfinished ones.
    """
    with user_errors():
        exp = build_experiment(
            preset=preset, config_file=config, seed=seed, n_seeds=n_seeds, alphas=alphas, cutmix=cutmix,
            smoothing=smoothing, manifold=manifold, lam_mode=lam_mode, baseline=baseline, epochs=epochs,
            batch_size=batch_size, lr=lr, weight_decay=weight_decay, model=model, augment=augment, subset=subset,
            dataset=dataset,
            label_noise=label_noise, clean_train_size=clean_train_size, val_size=val_size, shift=shift,
            shift_every=shift_every, shift_images=shift_images, cifar10c_dir=cifar10c_dir, device=device,
            precision=precision, compile=compile, data_dir=data_dir, out=out, name=name, jobs=jobs,
            backend=backend, ray_address=ray_address, gpus_per_run=gpus_per_run, until_decided=until_decided,
            max_seeds=max_seeds,
        )  # fmt: skip
        if dry_run:
            _dry_run(exp, mlflow)
        else:
            _run_and_report(exp, quiet, tensorboard, mlflow)


def _dry_run(exp: ExperimentConfig, mlflow: str | None = None) -> None:
    """What `run` would do, from the resolved config alone: nothing is loaded, trained or written. The
    checks `run` makes before it trains come first (sweep.plan.preflight): a dry run that passes, starts."""
    from mixup_bench.sweep.plan import preflight, run_plan

    preflight(exp)
    if mlflow is not None:
        from mixup_bench.integrations.mlflow_tracker import probe_store

        probe_store(mlflow)
    out = console()
    out.print(settings_toml(exp, [f"{exp.path}: the resolved settings (`run --config` reads this back)"]),
              markup=False, highlight=False, soft_wrap=True)  # fmt: skip
    for line in run_plan(exp):
        out.print(line, markup=False, highlight=False, soft_wrap=True)


def _run_and_report(exp: ExperimentConfig, quiet: bool, tensorboard: bool = False, mlflow: str | None = None) -> None:
    from mixup_bench.integrations.sync import LiveLogging, Sync, make_trackers
    from mixup_bench.sweep.plan import check_backend
    from mixup_bench.sweep.progress import final_table, make_reporter
    from mixup_bench.sweep.runner import run_experiment

    check_backend(exp)  # Ray missing: one line before anything is written
    out_console = console()
    trackers = make_trackers(exp.path, tensorboard=tensorboard, mlflow=mlflow)  # before any folder is made
    total = len(exp.arms) * exp.seed_cap if exp.until_decided else len(exp.runs())
    with make_reporter(out_console, total, quiet) as reporter:
        logged = LiveLogging(reporter, Sync(exp.path, trackers, say=reporter.say)) if trackers else reporter
        with logged:
            command = shlex.join(["mixup-bench", *sys.argv[1:]])
            if exp.until_decided:
                from mixup_bench.sweep.until_decided import run_until_decided

                outcome = run_until_decided(exp, logged, rerun_command=command)
            else:
                outcome = run_experiment(exp, logged, rerun_command=command)
    if outcome.finished and not quiet:
        out_console.print(final_table(outcome.finished))
    plot_cmd = shlex.join(["mixup-bench", "plot", str(exp.path)])
    out_console.print(escape(f"Results: {exp.path}  (draw them with: {plot_cmd})"), soft_wrap=True)
    if outcome.stopped:
        raise typer.Exit(130)


@app.command()
def presets(
    name: Annotated[str | None, typer.Argument(help="A preset to show whole. Default: list them all.")] = None,
    toml: Annotated[
        bool, _opt("Print the preset as a TOML file to start your own from (`run --config`).", "--toml")
    ] = False,
) -> None:
    """List the built-in presets and their settings, or print one as a TOML file."""
    with user_errors():
        from mixup_bench.settings import preset_lines, preset_toml

        if toml and name is None:
            raise UserError("--toml prints one preset: give its name, e.g. `mixup-bench presets default --toml`.")
        text = preset_toml(name) if toml else "\n".join(preset_lines(name))
        typer.echo(text.rstrip("\n"))


@app.command(cls=_PathsCommand)
def export(
    experiment: Annotated[
        Path, typer.Argument(help="Experiment folder, or a results root (its latest experiment is used).")
    ],
    to: Annotated[str, typer.Option("--to", help="tensorboard | mlflow.", show_default=False)],
    mlflow: Annotated[
        str, typer.Option("--mlflow", metavar="URI", help="MLflow tracking server, store URI or folder.")
    ] = DEFAULT_MLFLOW_STORE,
    logdir: Annotated[
        Path | None, _opt("TensorBoard: where the event folders go. Default: <experiment>/tensorboard.", "--logdir")
    ] = None,
) -> None:
    """Send a finished (or partial) experiment to TensorBoard or MLflow from its CSVs; again sends only what is new."""
    with user_errors():
        from mixup_bench.integrations.export import export_experiment

        for line in export_experiment(experiment, to, mlflow=mlflow, logdir=logdir):
            console().print(line, markup=False, highlight=False, soft_wrap=True)


_CORRECTION_HELP = (
    "Judge the verdict on Holm-adjusted p-values over each comparison's parts of the claim (--no-correction: raw "
    "p-values)."
)


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
    correction: Annotated[bool, _opt(_CORRECTION_HELP, "--correction/--no-correction")] = True,
    family: Annotated[
        str,
        _opt("What Holm's correction runs over: each arm against its reference over its own parts (comparison), "
             "or every arm's parts at once (experiment).", "--family"),
    ] = "comparison",
) -> None:  # fmt: skip
    """Draw the figures and write summary.csv, paired.csv and summary.md with a seed-aware verdict.

    The verdict and tables give the last epoch (pre-registered) and each run's best epoch by validation
    accuracy; a claim is supported or contradicted when its paired test passes after Holm's correction
    (sequential p-values for experiments run with --until-decided), "no effect" when its interval lies
    within its smallest effect of interest.
    """
    with user_errors():
        from mixup_bench.config import check_choice
        from mixup_bench.plotting import plot_experiment

        check_choice("--family", family, ("comparison", "experiment"))
        plot_experiment(experiment, console(), reference=reference, correction=correction, family=family)


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
    correction: Annotated[bool, _opt(_CORRECTION_HELP, "--correction/--no-correction")] = True,
) -> None:
    """Regime map: MixUp − baseline (paired by seed, 95% CI) against the setting the experiments differ in.

    Writes regime_map.csv, regime_map.md and regime_map.png/.svg, e.g.
    `mixup-bench compare results/subset-5k results/subset-20k results/subset-50k`.
    """
    with user_errors():
        from mixup_bench.plotting import compare_experiments

        compare_experiments(experiments, out, setting=setting, console=console(), correction=correction)


@app.command()
def status(
    experiment: Annotated[
        Path, typer.Argument(help="Experiment folder, or a results root (its latest experiment is used).")
    ] = Path("results"),
) -> None:
    """List each run as done, partial (epoch k/N), locked or not started, with its last test accuracy."""
    with user_errors():
        from mixup_bench import results
        from mixup_bench.sweep.status import experiment_status, status_table

        exp_path = results.find_experiment(experiment)
        if exp_path != experiment:  # a results root: say which of its experiments this is, and how many there are
            others = len(results.experiments_in(experiment)) - 1
            more = f"; {others} other experiment(s) there: `mixup-bench status DIR` shows one" if others > 0 else ""
            console().print(f"{exp_path} (the latest under {experiment}{more})", markup=False, soft_wrap=True)
        console().print(status_table(experiment_status(exp_path)))


@app.command()
def data(
    data_dir: DataDir = None,  # type: ignore[assignment]
    dataset: DatasetOption = None,
    download: Annotated[bool, typer.Option("--download/--no-download", help="Download if absent.")] = False,
) -> None:
    """Check (or fetch) a data set (CIFAR-10 by default): say where it is and what it holds."""
    with user_errors():
        from mixup_bench.catalog import DEFAULT_DATASET, dataset_title
        from mixup_bench.train.datasets import load_dataset

        c = console()
        ds = load_dataset(
            dataset or DEFAULT_DATASET,
            data_dir or default_data_dir(),
            download=download,
            progress=lambda m: c.print(m, markup=False, soft_wrap=True),
        )
        info = ds.describe()
        for line in (
            f"{dataset_title(ds.name, info['root'])} from {info['source']} at {info['root']}",
            f"  train: {info['train_images']:,} images, per class {info['train_per_class']}",
            f"  test:  {info['test_images']:,} images, per class {info['test_per_class']}",
            f"  classes: {', '.join(info['classes'])}",
        ):
            c.print(line, markup=False, soft_wrap=True)  # paths and class folder names are the user's text


@app.command()
def bench(
    model: Annotated[str, typer.Option(help="fast-cnn, small-cnn or preact-resnet18.")] = BenchConfig.model,
    batch_size: Annotated[int, typer.Option(help="Images per step, both pipelines.")] = BenchConfig.batch_size,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda | mps.")] = BenchConfig.device,
    precision: Annotated[
        str, typer.Option(help="Of the project's pipeline: auto (bf16 where native) | fp32 | bf16. Naive: fp32.")
    ] = BenchConfig.precision,
    steps: Annotated[int, typer.Option(help="Timed steps per pipeline and round.")] = BenchConfig.steps,
    warmup: Annotated[int, typer.Option(help="Untimed steps before them.")] = BenchConfig.warmup,
    rounds: Annotated[
        int, typer.Option(help="Rounds (project then naive, each); medians are reported.")
    ] = BenchConfig.rounds,
    compile: Annotated[
        bool, typer.Option("--compile/--no-compile", help="torch.compile the project's model.")
    ] = BenchConfig.compile,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="CIFAR-10 folder (as for run). Default: synthetic images, said in the output."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Where to write the results as JSON.")] = BenchConfig.out,
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
