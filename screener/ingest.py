"""Refreshing the stored lists from their publishers: download, parse, validate, guard, store, diff."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import polars as pl

from screener.errors import USER_ERRORS, ScreenerError, first_line
from screener.schema import ENTITY_SCHEMA, NAME_SCHEMA, conform, validate_frames
from screener.store import SnapshotMeta, Store
from sources import opensanctions
from sources.base import Download, Parsed, Source, SourceFormatError, Validators
from sources.fetch_policy import DownloadRefused, is_local

DEFAULT_MAX_LOSS = 0.5
COMPARED = [column for column in ENTITY_SCHEMA if column != "entity_id"]


class IngestError(ScreenerError):
    """An ingest was refused; the stored lists are unchanged."""


@dataclass(frozen=True)
class Diff:
    """What changed between two snapshots of one source."""

    added: pl.DataFrame
    removed: pl.DataFrame
    changed: pl.DataFrame

    def counts(self) -> tuple[int, int, int]:
        return self.added.height, self.removed.height, self.changed.height


@dataclass(frozen=True)
class IngestResult:
    """The outcome of refreshing one source."""

    source: str
    status: str
    snapshot_id: int | None = None
    added: int = 0
    removed: int = 0
    changed: int = 0
    total: int = 0
    message: str = ""


def ingest_source(
    store: Store,
    source: Source,
    client: httpx.Client,
    url: str | None = None,
    force: bool = False,
    max_loss: float = DEFAULT_MAX_LOSS,
    on_stage: Callable[[str], None] = lambda stage: None,
) -> IngestResult:
    """Refresh one source; raise (leaving the store untouched) when the download or the new list is unsound."""
    current = _current_snapshot(store, source.name)
    validators = Validators() if force or current is None else Validators(current["etag"] or "",
                                                                           current["last_modified"] or "")
    on_stage("downloading")
    try:
        download = source.download(client, url or source.url, validators)
    except DownloadRefused as refused:
        if url or not source.mirror:
            raise
        return _ingest_copy(store, source, client, refused, current, max_loss, force, on_stage)
    if current is not None and not force and (download.not_modified or download.sha256 == current["sha256"]):
        etag = download.etag or current["etag"] or ""
        stamp = download.last_modified or current["last_modified"] or ""
        store.update_snapshot_check(current["snapshot_id"], etag, stamp)
        return IngestResult(source.name, "unchanged", current["snapshot_id"], total=current["row_count"],
                            message="not modified since the last ingest")
    on_stage("parsing")
    parsed = _parse(source, download)
    on_stage("validating")
    entities, names = _validated(store, current, parsed)
    diff = _diff_against_current(store, current, entities, names)
    _guard_shrink(source.name, current, diff, entities.height, max_loss, force)
    on_stage("storing")
    snapshot_id = store.add_snapshot(_meta(source, download, parsed.as_of), entities, names)
    added, removed, changed = diff.counts()
    return IngestResult(source.name, "updated", snapshot_id, added, removed, changed, entities.height)


def _ingest_copy(store: Store, source: Source, client: httpx.Client, refused: DownloadRefused,
                 current: dict[str, Any] | None, max_loss: float, force: bool,
                 on_stage: Callable[[str], None]) -> IngestResult:
    """Store OpenSanctions' copy of a list whose publisher refused the download, saying so in the snapshot."""
    mirror = opensanctions.make_source((source.mirror,))
    try:
        download = mirror.download(client, mirror.url, Validators())
        on_stage("parsing")
        parsed = _as_copy_of(source, mirror.parse(download))
    except USER_ERRORS as error:
        raise IngestError(
            f"{source.name}: the publisher refused the download ({first_line(refused)}) and the OpenSanctions copy "
            f"({source.mirror}) failed too ({first_line(error)}); open {source.url} in a browser, save the page "
            f"(or the CSV it links to) and run `screener ingest {source.name} --from-file FILE` — the stored list was kept"
        ) from error
    on_stage("validating")
    entities, names = _validated(store, current, parsed)
    diff = _diff_against_current(store, current, entities, names)
    _guard_shrink(source.name, current, diff, entities.height, max_loss, force)
    on_stage("storing")
    copy = f"OpenSanctions copy ({source.mirror}), read because the publisher refused the download"
    meta = dataclasses.replace(
        _meta(source, download, parsed.as_of), title=f"{source.title} ({copy})", licence=opensanctions.LICENCE,
        coverage=f"{copy}: {source.coverage} Licence {opensanctions.LICENCE}.",
    )
    snapshot_id = store.add_snapshot(meta, entities, names)
    added, removed, changed = diff.counts()
    return IngestResult(source.name, "updated", snapshot_id, added, removed, changed, entities.height,
                        message=f"{copy} ({first_line(refused)}); licence {opensanctions.LICENCE}")


def _validated(store: Store, current: dict[str, Any] | None, parsed: Parsed) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The parsed frames in canonical form, renamed listings keeping their stored ids, checked."""
    entities = conform(parsed.entities, ENTITY_SCHEMA, "entities")
    names = conform(parsed.names, NAME_SCHEMA, "names").unique(maintain_order=True)
    if current is not None:
        entities, names = keep_renamed_ids(store.read_lists([current["snapshot_id"]]).entities, entities, names)
    validate_frames(entities, names)
    return entities, names


def _folded(column: str) -> pl.Expr:
    return pl.col(column).str.to_lowercase().str.replace_all(r"[^\p{L}\p{N}]+", " ").str.strip_chars()


def keep_renamed_ids(stored: pl.DataFrame, entities: pl.DataFrame, names: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A listing renamed on the list keeps its id: a new entity formerly known by the name of a stored entity
    that the new list no longer holds takes that entity's id (so `diff` shows a renaming, not a removal and an addition)."""
    gone = stored.join(entities.select("entity_id"), on="entity_id", how="anti").select(
        old_id="entity_id", key=_folded("name"))
    new_ids = entities.join(stored.select("entity_id"), on="entity_id", how="anti").select("entity_id")
    renamed = (
        names.filter(pl.col("kind") == "former").join(new_ids, on="entity_id")
        .select("entity_id", key=_folded("name")).join(gone, on="key")
        .unique("entity_id", keep="first", maintain_order=True).unique("old_id", keep="first", maintain_order=True)
    )
    if renamed.is_empty():
        return entities, names
    mapping = pl.col("entity_id").replace(renamed["entity_id"], renamed["old_id"])
    return entities.with_columns(mapping), names.with_columns(mapping)


def _as_copy_of(source: Source, parsed: Parsed) -> Parsed:
    """OpenSanctions' records of a list as that list's own entities (source name and id prefix)."""
    prefix = pl.col("entity_id").str.replace(f"^{opensanctions.NAME}:", f"{source.name}:")
    return dataclasses.replace(
        parsed,
        entities=parsed.entities.with_columns(prefix, source=pl.lit(source.name)),
        names=parsed.names.with_columns(prefix),
    )


def _parse(source: Source, download: Download) -> Parsed:
    """The parsed download; a saved copy is cited by its publisher's address and named in its errors."""
    if not is_local(download.url):
        return source.parse(download)
    try:
        parsed = source.parse(download)
    except SourceFormatError as error:
        problem = str(error).rpartition("; ")[0] or str(error)
        raise SourceFormatError(
            f"{download.url.removeprefix('file://')} is not a copy of the {source.title} this version can read ({problem}); "
            f"save the list from {source.url} and ingest that file — the stored list was kept"
        ) from error
    cited = parsed.entities.with_columns(pl.col("source_url").str.replace_all(download.url, source.url, literal=True))
    return dataclasses.replace(parsed, entities=cited)


def ingest_many(
    store: Store,
    sources: list[Source],
    client: httpx.Client,
    url: str | None = None,
    force: bool = False,
    max_loss: float = DEFAULT_MAX_LOSS,
    on_stage: Callable[[str, str], None] = lambda source, stage: None,
) -> list[IngestResult]:
    """Refresh each source independently: one failing keeps the others' new snapshots."""
    results = []
    for source in sources:
        try:
            results.append(ingest_source(store, source, client, url, force, max_loss,
                                         functools.partial(on_stage, source.name)))
        except USER_ERRORS as error:  # one source's failure must not stop the others; its store state is untouched
            results.append(IngestResult(source.name, "failed", message=first_line(error)))
    return results


def _current_snapshot(store: Store, source: str) -> dict[str, Any] | None:
    current = store.current_snapshots().filter(pl.col("source") == source)
    return current.row(0, named=True) if current.height else None


def _meta(source: Source, download: Download, as_of: dt.date | None) -> SnapshotMeta:
    return SnapshotMeta(
        source=source.name, title=source.title, as_of=as_of, url=download.url, sha256=download.sha256,
        origin="ingest", licence=source.licence, coverage=source.coverage, etag=download.etag,
        last_modified=download.last_modified,
    )


def _diff_against_current(store: Store, current: dict[str, Any] | None, entities: pl.DataFrame,
                          names: pl.DataFrame) -> Diff:
    if current is None:
        return diff_frames(entities.clear(), names.clear(), entities, names)
    lists = store.read_lists([current["snapshot_id"]])
    return diff_frames(lists.entities, lists.names, entities, names)


def _guard_shrink(source: str, current: dict[str, Any] | None, diff: Diff, new_total: int, max_loss: float,
                  force: bool) -> None:
    """Refuse a new list that lost more than `max_loss` of the current list's entities, unless forced.

    Against an earlier ingest, lost means removed entity ids; against the embedded compilation (whose names
    may be spelt differently), lost means a smaller count.
    """
    if current is None or force or not current["row_count"]:
        return
    previous = current["row_count"]
    lost = diff.removed.height if current["origin"] == "ingest" else max(previous - new_total, 0)
    if lost / previous > max_loss:
        raise IngestError(
            f"{source}: the new list loses {lost} of the {previous} stored entities ({lost / previous:.0%}, "
            f"more than the {max_loss:.0%} allowed); the stored list was kept. If the publisher really shrank "
            "the list, re-run with --force"
        )


def diff_frames(old_entities: pl.DataFrame, old_names: pl.DataFrame, new_entities: pl.DataFrame,
                new_names: pl.DataFrame) -> Diff:
    """Added, removed and changed entities (changed: any listed field or the set of names differs)."""
    old = _with_name_set(old_entities, old_names)
    new = _with_name_set(new_entities, new_names)
    added = new.join(old.select("entity_id"), on="entity_id", how="anti").drop("name_set")
    removed = old.join(new.select("entity_id"), on="entity_id", how="anti").drop("name_set")
    fields = [*COMPARED, "name_set"]
    both = new.join(old, on="entity_id", how="inner", suffix="_old")
    labels = {"name_set": pl.lit("names"), "name": pl.format("renamed (was '{}')", pl.col("name_old"))}
    differs = [
        pl.when(~pl.col(field).eq_missing(pl.col(f"{field}_old"))).then(labels.get(field, pl.lit(field)))
        for field in fields
    ]
    changed = (
        both.with_columns(changed_fields=pl.concat_list(differs).list.drop_nulls().list.join(", "))
        .filter(pl.col("changed_fields") != "")
        .select("entity_id", "name", "list_name", "program", "changed_fields")
    )
    return Diff(added=added, removed=removed, changed=changed)


def _with_name_set(entities: pl.DataFrame, names: pl.DataFrame) -> pl.DataFrame:
    name_sets = names.group_by("entity_id").agg(
        name_set=pl.concat_str([pl.col("kind"), pl.col("name")], separator=":").sort().str.join("|")
    )
    return entities.select("entity_id", *COMPARED).join(name_sets, on="entity_id", how="left")


def diff_snapshots(
    store: Store, source: str, from_id: int | None = None, to_id: int | None = None
) -> tuple[int, int, Diff]:
    """Diff two snapshots of a source: by default the current one against the one before it."""
    history = store.snapshots(source)
    if history.is_empty():
        raise IngestError(f"no snapshots of {source} are stored; run `screener ingest {source}` first")
    ids = history["snapshot_id"].to_list()
    for given in (from_id, to_id):
        if given is not None and given not in ids:
            raise IngestError(f"snapshot {given} is not a snapshot of {source}; stored: {', '.join(map(str, ids))}")
    current = history.filter(pl.col("status") == "current")["snapshot_id"].to_list()
    to_id = to_id if to_id is not None else (current[0] if current else ids[0])
    if from_id is None:
        older = [snapshot for snapshot in ids if snapshot < to_id]
        if not older:
            raise IngestError(f"snapshot {to_id} is the oldest stored snapshot of {source}; nothing to compare with")
        from_id = older[0]
    old, new = store.read_lists([from_id]), store.read_lists([to_id])
    return from_id, to_id, diff_frames(old.entities, old.names, new.entities, new.names)
