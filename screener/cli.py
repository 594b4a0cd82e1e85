"""The `screener` command: a thin shell over the library.

Each command lives in the module COMMANDS names, imported only when that command runs (or help lists it): `screener
check` loads the checking code and nothing of the ingest, report, workflow or service commands.
"""

from __future__ import annotations

import gc
import importlib
import sys
from collections.abc import Iterator, Mapping, MutableMapping
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text
from typer.core import TyperGroup

from screener import __version__, settings
from screener.cli_options import Commands, ReadsPlainly, help_when_bare
from screener.console import err, out
from screener.errors import USER_ERRORS, first_line

if TYPE_CHECKING:
    from typer._click import Command

USER_ERROR_EXIT = 2
BUG_EXIT = 70  # EX_SOFTWARE (sysexits.h): an internal error

COMMANDS = {  # command or command group: the module whose `commands` app defines it; help lists them in this order
    "screen": "screener.cli_screen",
    "check": "screener.cli_check",
    "sources": "screener.cli_lists",
    "doctor": "screener.cli_lists",
    "entity": "screener.cli_lists",
    "ingest": "screener.cli_ingest",
    "diff": "screener.cli_ingest",
    "portfolio": "screener.cli_workflow",
    "decide": "screener.cli_workflow",
    "decisions": "screener.cli_workflow",
    "monitor": "screener.cli_workflow",
    "serve": "screener.cli_service",
    "keys": "screener.cli_service",
    "jobs": "screener.cli_service",
}


class CommandsOnDemand(MutableMapping[str, "Command"]):
    """A group's commands by name, those of COMMANDS built from their module the first time one is looked up."""

    def __init__(self, modules: Mapping[str, str], built: Mapping[str, Command]):
        self._modules = modules
        self._built = dict(built)

    def __getitem__(self, name: str) -> Command:
        if name not in self._built:
            module = imported(self._modules[name])  # KeyError: no such command
            self._built.update(typer.main.get_group(module.commands).commands)
        return self._built[name]

    def __setitem__(self, name: str, command: Command) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self._modules, *self._built]))

    def __len__(self) -> int:
        return len(set(self._modules) | set(self._built))


def imported(name: str) -> ModuleType:
    """A command's module, imported without garbage collection and then kept out of later collections: what an import
    allocates (modules, classes, functions, tables) lives as long as the process, so collecting during it finds nothing
    (~40 ms of a cold check) and later collections need not look at it again."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        return importlib.import_module(name)
    finally:
        gc.freeze()
        if collecting:
            gc.enable()


class CommandsFromModules(ReadsPlainly, TyperGroup):
    """The `screener` group: the commands registered on `app`, and those of COMMANDS on demand; its options read
    without pydantic (PlainValues)."""

    def __init__(self, *, commands: Mapping[str, Command] | None = None, **settings: Any) -> None:
        super().__init__(**settings)
        self.commands = CommandsOnDemand(COMMANDS, commands or {})


app = Commands(
    help="Screen suppliers for forced-labour risk against the UFLPA Entity List, CBP WROs/Findings and Xinjiang sanctions.",
    cls=CommandsFromModules,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(asked: bool) -> None:
    if asked:
        out.print(f"screener {__version__}", highlight=False)
        raise typer.Exit(0)


@app.callback(invoke_without_command=True)
def main_options(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True, help="Show the version and exit.")] = False,
) -> None:
    """Screen suppliers for forced-labour risk against the UFLPA Entity List, CBP WROs/Findings and Xinjiang sanctions."""
    help_when_bare(ctx)


def main() -> None:
    """Entry point: run the CLI, turning every failure into a one-line error."""
    settings.one_blas_thread()
    settings.allocator_keeps_freed_pages()
    try:
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        err.print("Aborted.")
        sys.exit(130)
    except typer.TyperException as error:
        # typer's own copy of click's usage errors (a bad --as-of is its BadParameter)
        error.show()  # type: ignore[attr-defined]
        sys.exit(getattr(error, "exit_code", 2))
    except USER_ERRORS as error:
        if settings.DEBUG.value():
            raise
        err.print(Text("error:", "bold red"), first_line(error), soft_wrap=True)
        sys.exit(USER_ERROR_EXIT)
    except Exception as error:
        if settings.DEBUG.value():
            raise
        err.print(Text("bug:", "bold red"), f"{type(error).__name__}: {first_line(error)}", soft_wrap=True)
        err.print(f"This is a bug in the screener: rerun with {settings.DEBUG.name}=1 for the traceback and report it.")
        sys.exit(BUG_EXIT)
