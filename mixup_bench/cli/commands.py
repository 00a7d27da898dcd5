"""The commands that read or move what `run` wrote (plot, compare, status, export), and data and bench."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mixup_bench.cli.app import PathsCommand, app, console, opt, setting_option, user_errors
from mixup_bench.config import BenchConfig, default_data_dir
from mixup_bench.config.experiment import DEFAULT_OUT
from mixup_bench.integrations.mlflow_tracker import DEFAULT_STORE as DEFAULT_MLFLOW_STORE


@app.command(cls=PathsCommand)
def export(
    experiment: Annotated[
        Path, typer.Argument(help="Experiment folder, or a results root (its latest experiment is used).")
    ],
    to: Annotated[str, typer.Option("--to", help="tensorboard | mlflow.", show_default=False)],
    mlflow: Annotated[
        str, typer.Option("--mlflow", metavar="URI", help="MLflow tracking server, store URI or folder.")
    ] = DEFAULT_MLFLOW_STORE,
    logdir: Annotated[
        Path | None, opt("TensorBoard: where the event folders go. Default: <experiment>/tensorboard.", "--logdir")
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
    ] = DEFAULT_OUT,
    reference: Annotated[
        str | None,
        opt(
            "Also pair every other arm with this arm (its run id without -s<seed>: mixup-a0.2, cutmix-a1, "
            "smooth-e0.1, manifold-a2): a second table in summary.md and paired_vs_<arm>.csv."
        ),
    ] = None,
    correction: Annotated[bool, opt(_CORRECTION_HELP, "--correction/--no-correction")] = True,
    family: Annotated[
        str,
        opt("What Holm's correction runs over: each arm against its reference over its own parts (comparison), "
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
        opt("The setting to compare along (subset, label_noise, epochs, model, ...). Default: the one that differs."),
    ] = None,
    out: Annotated[Path | None, opt("Output folder. Default: <common parent>/compare-<setting>.")] = None,
    correction: Annotated[bool, opt(_CORRECTION_HELP, "--correction/--no-correction")] = True,
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
    ] = DEFAULT_OUT,
) -> None:
    """List each run as done, partial (epoch k/N), locked or not started, with its last test accuracy."""
    with user_errors():
        from mixup_bench.results.discovery import experiments_in, find_experiment
        from mixup_bench.sweep.status import experiment_status, status_table

        exp_path = find_experiment(experiment)
        if exp_path != experiment:  # a results root: say which of its experiments this is, and how many there are
            others = len(experiments_in(experiment)) - 1
            more = f"; {others} other experiment(s) there: `mixup-bench status DIR` shows one" if others > 0 else ""
            console().print(f"{exp_path} (the latest under {experiment}{more})", markup=False, soft_wrap=True)
        console().print(status_table(experiment_status(exp_path)))


@app.command()
def data(
    data_dir: setting_option("data_dir") = None,
    dataset: setting_option("dataset") = None,
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
