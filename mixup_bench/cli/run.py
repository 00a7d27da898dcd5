"""`run` and the commands that set it up: `presets` (the named configurations) and `methods` (what `--arm`
takes). `run`'s settings options are generated from the config's fields; the rest are written out."""

from __future__ import annotations

import inspect
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from typer.core import TyperCommand

from mixup_bench.cli.app import app, console, error_console, opt, refuse_empty_paths, setting_option, user_errors
from mixup_bench.config import PRESETS, ExperimentConfig, alias_specs
from mixup_bench.config.setting import flag_decls
from mixup_bench.errors import UserError
from mixup_bench.integrations.mlflow_tracker import DEFAULT_STORE as DEFAULT_MLFLOW_STORE
from mixup_bench.settings import SETTING_FIELDS, SETTING_TYPES, build_experiment, default_help, settings_toml
from mixup_bench.streams import shortened, shown


class _RunCommand(TyperCommand):
    """`run`: `--mlflow` may come without its URI (then ./mlruns), which Typer's parser cannot say.
    An empty path (`--out ""`, `--data-dir=`) is refused here: once parsed, it cannot be told from `.`."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        args = list(args)
        for i, arg in enumerate(args):
            if arg == "--mlflow" and (i + 1 == len(args) or args[i + 1].startswith("-")):
                args[i] = f"--mlflow={DEFAULT_MLFLOW_STORE}"
        refuse_empty_paths(ctx, args)
        # The order the arm options came in (Click keeps each option's values, but not how they interleave),
        # from Click's own parser, so that `--arm fmix --alpha 1` runs FMix first as given.
        _, _, order = self.make_parser(ctx).parse_args(args=list(args))
        ctx.meta[_ARM_ORDER] = [p.name for p in order if p.name in _ARM_PARAMS]
        return super().parse_args(ctx, args)


_ARM_ORDER = "mixup_bench.arm_order"
# run's parameters that give arms: --arm itself, and its aliases by their settings key (config.ARM_ALIASES)
_ARM_PARAMS = ("arm", "alphas", "cutmix", "smoothing", "manifold")


def _arm_settings(ctx: typer.Context, values: dict[str, list | None]) -> dict[str, tuple]:
    """The settings --arm and its aliases give: with --arm, `arms`, every spec in the order they came on the
    command line (an alias's values checked with its own message, `config.alias_specs`); aliases alone keep
    their own keys, which replace only their methods' arms (`config.merge_arms`)."""
    if not values["arm"]:
        return {key: tuple(v) for key, v in values.items() if v}
    queues = {key: list(v or ()) for key, v in values.items()}
    order = ctx.meta.get(_ARM_ORDER) or []
    if sorted(order) != sorted(key for key, v in queues.items() for _ in v):  # another caller: the aliases first
        order = [key for key in _ARM_PARAMS[1:] + _ARM_PARAMS[:1] for _ in queues[key]]
    specs = []
    for key in order:
        value = queues[key].pop(0)
        specs.extend((value,) if key == "arm" else alias_specs(key, (value,)))
    return {"arms": tuple(specs)}


@app.command(cls=_RunCommand)
def run(
    ctx: typer.Context,
    preset: Annotated[str, typer.Option(help=f"Named configuration: {', '.join(PRESETS)}. Flags override it.")] = (
        "default"
    ),
    config: Annotated[
        Path | None,
        opt("A TOML file of settings (the keys of `mixup-bench presets NAME --toml`) on top of the preset; "
            "flags override it. Its name is the experiment's unless it sets one.", "--config"),
    ] = None,
    arm: Annotated[
        list[str] | None,
        typer.Option("--arm", metavar="METHOD[:PARAM]", show_default=False,
                     help="An arm: a method and its parameter (its default when left out), e.g. fmix:0.2, resizemix; "
                     "repeatable, run after the baseline in the order given, with the aliases below. Given, these "
                     f"are the arms (default: {', '.join(ExperimentConfig.arms)}); `mixup-bench methods` lists the "
                     "methods."),
    ] = None,
    alphas: Annotated[
        list[float] | None,
        opt("MixUp alpha of an arm (--arm mixup:A; 0: the baseline); repeatable. lam ~ Beta(alpha, alpha). "
            "Without --arm, an alias replaces only its own method's arms.", "--alpha", "-a"),
    ] = None,
    cutmix: Annotated[list[float] | None, opt("CutMix arm with this alpha (--arm cutmix:A); repeatable.")] = None,
    smoothing: Annotated[
        list[float] | None, opt("Label-smoothing arm with this epsilon (--arm smooth:E); repeatable.",
                                "--label-smoothing")
    ] = None,
    manifold: Annotated[
        list[float] | None,
        opt("Manifold MixUp arm with this alpha (--arm manifold:A); repeatable.", "--manifold-mixup"),
    ] = None,
    seed: Annotated[list[int] | None, opt("Seed; repeat for several (instead of --seeds).", "--seed")] = None,
    n_seeds: Annotated[int | None, opt("Use seeds 0..N-1." + default_help("seeds"), "--seeds")] = None,
    dry_run: Annotated[
        bool, opt("Print the resolved settings, the runs and the time estimate; train and write nothing.", "--dry-run")
    ] = False,
    tensorboard: Annotated[
        bool, opt("Log live to TensorBoard: <out>/<name>/tensorboard/<run_id>/.", "--tensorboard")
    ] = False,
    mlflow: Annotated[
        str | None,
        typer.Option("--mlflow", metavar="[URI]", show_default=False,
                     help="Log live to MLflow: a tracking server, a store URI, or a folder "
                     f"(alone: ./{DEFAULT_MLFLOW_STORE})."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")] = False,
    **settings: Any,  # one option per setting with a flag, generated from the config's fields (`_SETTING_PARAMS`)
) -> None:  # fmt: skip
    """Train the baseline and each arm (--arm, --alpha, ...), for every seed, writing per-epoch CSVs.

    Without flags this is the `default` preset (`mixup-bench presets` shows it): 3 paired seeds, ending in a
    verdict with intervals (`mixup-bench plot`). Before it trains, it times a few steps on this machine and
    prints how long the whole experiment will take.

    Re-running the same command skips finished runs and resumes unfinished ones.
    """
    with user_errors():
        arms = _arm_settings(ctx, {"arm": arm, "alphas": alphas, "cutmix": cutmix, "smoothing": smoothing,
                                   "manifold": manifold})  # fmt: skip
        exp = build_experiment(preset=preset, config_file=config, seed=seed, n_seeds=n_seeds, **arms, **settings)
        if dry_run:
            _dry_run(exp, mlflow)
        else:
            _run_and_report(exp, quiet, tensorboard, mlflow)


# `run`'s options for the settings: every field of ExperimentConfig and TrainingConfig that has a flag
# (config.setting), in the fields' order, after the options written out above. Generated rather than written
# out so that adding a setting is adding its field: the option, its help and default, its type and its
# checks cannot drift from the field. The ones written out above are not one field each (arms, seeds) or
# not settings at all (how to run: --dry-run, the trackers, --quiet).
_SETTING_PARAMS = [
    inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=setting_option(key))
    for key, field in SETTING_FIELDS.items()
    if flag_decls(field, SETTING_TYPES[key])
]
_WRITTEN = [p for p in inspect.signature(run, eval_str=True).parameters.values() if p.kind is not p.VAR_KEYWORD]
run.__signature__ = inspect.Signature(_WRITTEN + _SETTING_PARAMS)


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
    total = len(exp.planned_arms) * exp.seed_cap if exp.until_decided else len(exp.runs())
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
        bool, opt("Print the preset as a TOML file to start your own from (`run --config`).", "--toml")
    ] = False,
) -> None:
    """List the built-in presets and their settings, or print one as a TOML file."""
    with user_errors():
        from mixup_bench.settings import preset_lines, preset_toml

        if toml and name is None:
            raise UserError("--toml prints one preset: give its name, e.g. `mixup-bench presets default --toml`.")
        text = preset_toml(name) if toml else "\n".join(preset_lines(name))
        typer.echo(text.rstrip("\n"))


@app.command()
def methods() -> None:
    """List every mixing method `--arm` takes: its parameter (name, default, range, meaning), its paper and the
    reference implementation its tests compare it with. An installed plugin that does not load is one line each,
    after them, and exit code 2."""
    with user_errors():
        from mixup_bench.methods import PLUGIN_ERRORS, method_lines

        typer.echo("\n".join(method_lines()))
        if PLUGIN_ERRORS:
            err = error_console()
            for line in PLUGIN_ERRORS.values():
                err.print(f"[red]error:[/red] {escape(shown(shortened(line)))}", soft_wrap=True)
            raise typer.Exit(2)
