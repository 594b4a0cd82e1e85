"""What every CLI module shares, defined once: the Typer app its commands are registered on, and the options several
commands take (database, rules, thresholds, list date, columns)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from typer.core import TyperCommand

if TYPE_CHECKING:
    from typer._click import Context, HelpFormatter


class NamedArguments(TyperCommand):
    """A command whose help names each argument by its metavar (`NAME  Entity name...`), as typer names options
    (`--db FILE`), instead of beside a Python type (`NAME <str>`)."""

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
