"""What every CLI module shares, defined once: the Typer app its commands are registered on, and the options several
commands take (database, rules, thresholds, list date, columns)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional, get_args, get_origin

import typer
from typer._click import Command
from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
from typer._param_types import coerce_cli_path
from typer.core import TyperCommand, _TyperParameter

if TYPE_CHECKING:
    from typer._click import Context, HelpFormatter, Parameter

DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
INTEGER = re.compile(r"[+-]?[0-9]+")
"""Numbers written so that float() and int() read them exactly as pydantic does (it also takes " 85", "1_0", "inf")."""


NOT_PLAIN = object()
"""A value a plain conversion cannot read the way typer's pydantic model would."""


@dataclass(frozen=True)
class PlainValues(RuntimeParam):
    """typer's conversion of a parameter's values without the pydantic model typer builds for it (~20 ms each, and
    pydantic's import): text, paths, plain decimal numbers and values of an option's own parser are read here as
    that model reads them; any other value, a bad one included, goes to the model, which words the error."""

    descriptor: TypeDescriptor

    def _coerce_value(self, value: Any, param: _TyperParameter, ctx: Context) -> Any:
        if get_origin(self.annotation) is list:
            items = [self._plain(item, get_args(self.annotation)[0], param, ctx) for item in value]
            plain: Any = NOT_PLAIN if any(item is NOT_PLAIN for item in items) else items
        else:
            plain = self._plain(value, self.annotation, param, ctx)
        if plain is NOT_PLAIN:
            return build_runtime_param(self.descriptor).coerce(value, param=param, ctx=ctx)
        return plain

    def _plain(self, value: Any, annotation: Any, param: _TyperParameter, ctx: Context) -> Any:
        info = self.parameter_info
        if not isinstance(value, str) or info.min is not None or info.max is not None:
            return NOT_PLAIN
        if info.parser is not None:
            try:
                return info.parser(value)
            except (ValueError, AssertionError):  # what pydantic turns into a message
                return NOT_PLAIN
        if annotation is str:
            return value
        if annotation is float and DECIMAL.fullmatch(value):
            return float(value)
        if annotation is int and INTEGER.fullmatch(value):
            return int(value)
        if annotation is Path and info.path_type is None:
            return coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
        return NOT_PLAIN


class ReadsPlainly(Command):
    """A command or group whose parameters (its help option included) read their values with PlainValues, not with
    the pydantic model typer would build for each."""

    def get_params(self, ctx: Context) -> list[Parameter]:
        params = super().get_params(ctx)
        for param in params:
            if isinstance(param, _TyperParameter) and param._runtime_param is None:
                param._runtime_param = PlainValues(
                    annotation=param.type_descriptor.annotation,
                    parameter_info=param.type_descriptor.parameter_info,
                    descriptor=param.type_descriptor,
                )
        return params


class NamedArguments(ReadsPlainly, TyperCommand):
    """A command whose help names each argument by its metavar (`NAME  Entity name...`), as typer names options
    (`--db FILE`), instead of beside a Python type (`NAME <str>`); its values read without pydantic (PlainValues)."""

    def format_options(self, ctx: Context, formatter: HelpFormatter) -> None:
        sections: dict[str, list[tuple[str, str]]] = {"argument": [], "option": []}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None and param.param_type_name in sections:
                shown = param.metavar if param.param_type_name == "argument" and param.metavar else record[0]
                sections[param.param_type_name].append((shown, record[1]))
        for title, rows in (("Arguments", sections["argument"]), ("Options", sections["option"])):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


class Commands(typer.Typer):
    """The commands of one CLI module, with click's plain help (typer's rich panels print a type such as <bool>
    beside every flag) and arguments named by their metavar."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(add_completion=False, rich_markup_mode=None, **settings)

    def command(self, *args: Any, **settings: Any) -> Any:
        return super().command(*args, **{"cls": NamedArguments, **settings})


def help_when_bare(ctx: typer.Context) -> None:
    """A command group run without a command prints its help and succeeds."""
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


def list_date(text: str | dt.date) -> dt.date:
    """A calendar date written YYYY-MM-DD, refused in words otherwise."""
    if isinstance(text, dt.date):
        return text
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date: write it as year-month-day, YYYY-MM-DD (e.g. 2024-06-30)") from None


DbOption = Annotated[Optional[Path], typer.Option(
    "--db", metavar="FILE", help="Database file (default: $SCREENER_DB or the user data dir).")]
RulesOption = Annotated[Optional[list[Path]], typer.Option(
    "--rules", metavar="FILE", help="Extra rule file (TOML); repeatable.")]
MatchOption = Annotated[Optional[float], typer.Option(
    "--match-threshold", metavar="SCORE", help="Score (0-100) at which a name is flagged.")]
ReviewOption = Annotated[Optional[float], typer.Option(
    "--review-threshold", metavar="SCORE", help="Score (0-100) from which a name is shown for review.")]
AsOfOption = Annotated[Optional[dt.date], typer.Option(
    "--as-of", parser=list_date, metavar="YYYY-MM-DD",
    help="Screen against the listings in force on this date (listing, effective and end dates).",
)]
AnalystOption = Annotated[Optional[str], typer.Option(
    "--analyst", metavar="NAME", help="Who decides (default: $SCREENER_ANALYST or the login name).")]
NameColumnOption = Annotated[Optional[str], typer.Option(
    "--name-col", metavar="COLUMN", help="Column with the supplier name.")]
CountryColumnOption = Annotated[Optional[str], typer.Option(
    "--country-col", metavar="COLUMN", help="Column with the country.")]
SheetOption = Annotated[Optional[str], typer.Option(
    "--sheet", metavar="SHEET", help="Spreadsheet sheet (default: first non-empty).")]
