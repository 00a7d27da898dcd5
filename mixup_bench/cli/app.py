"""The command group and what every command shares: one line and exit code 2 for any error the user can fix
(`user_errors`), the console, and options generated from the settings' fields (`setting_option`)."""

from __future__ import annotations

import platform
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from typer._click import exceptions as click_errors  # Typer's own click, which raises these
from typer.core import TyperCommand, TyperGroup

from mixup_bench.config.setting import flag_decls, setting_of
from mixup_bench.errors import UserError
from mixup_bench.settings import SETTING_FIELDS, SETTING_TYPES, default_help
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
            error_console().print(
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
    help="Train small CNNs with and without MixUp and other mixing methods over paired seeds, log per-epoch "
    "CSVs, and judge and plot what each method does.",
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
    """The console of the commands' output: user text printed as it is (no highlighting, and no emoji
    codes: an `--arm fmix:-1:` in a message stays that, not a thumbs-down)."""
    return Console(highlight=False, emoji=False)


def error_console() -> Console:
    """The console of the one-line errors, on stderr (as `console`)."""
    return Console(stderr=True, highlight=False, emoji=False)


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
    err = error_console()
    err.print(f"[red]error:[/red] {escape(shown(shortened(' '.join(text.split()))))}", soft_wrap=True)
    raise typer.Exit(2)


def os_error_line(e: OSError) -> str:
    """One line for an OSError: the path(s) it names and the reason."""
    reason = e.strerror or str(e) or type(e).__name__
    if e.filename is None:
        return f"{reason} ({type(e).__name__})"
    target = f"{e.filename} -> {e.filename2}" if e.filename2 is not None else f"{e.filename}"
    return f"cannot access {target}: {reason}"


def setting_option(key: str):
    """The option of setting `key`, generated from its field (config.setting): its flag, its help with its default
    (`settings.default_help`), and its type, or None when not given. `run` takes one per setting with a flag;
    `data` takes --data-dir and --dataset the same way."""
    field = SETTING_FIELDS[key]
    hint = SETTING_TYPES[key]
    help_text = setting_of(field).help + default_help(key)
    return Annotated[hint | None, typer.Option(*flag_decls(field, hint), help=help_text, show_default=False)]


def opt(help: str, *names: str, key: str | None = None):
    """An option without Typer's default display; `key` appends the setting's default, read from the dataclasses."""
    return typer.Option(*names, help=help + (default_help(key) if key else ""), show_default=False)


# Path options for which an empty value would silently be the current folder (Path("") is Path(".")).
_NONEMPTY_PATHS = ("--out", "--data-dir", "--config", "--logdir")


def refuse_empty_paths(ctx, args: list[str]) -> None:
    for i, arg in enumerate(args):
        if arg == "--":
            return
        option, eq, value = arg.partition("=")
        if option in _NONEMPTY_PATHS and ((eq and not value) or (not eq and i + 1 < len(args) and not args[i + 1])):
            raise typer.BadParameter("an empty path would be the current folder; give a folder, or leave it out.",
                                     ctx=ctx, param_hint=f"'{option}'")  # fmt: skip


class PathsCommand(TyperCommand):
    """A command whose path options refuse an empty value, as `run`'s do."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        refuse_empty_paths(ctx, list(args))
        return super().parse_args(ctx, args)
