"""The embedded snapshot in data/: contents, checksums, and loading it into a store."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from screener import paths
from screener.embedded import EmbeddedDataError, ensure_embedded, read_embedded, read_gazetteer, read_manifest
from screener.schema import ENTITY_SCHEMA, NAME_KINDS, NAME_SCHEMA, STATUSES, entity_id
from screener.store import Store

REPO = Path(__file__).resolve().parent.parent
# Counts of the compiled reference facts plus scripts/reference_additions/ the data was built from: 131 UFLPA
# reference rows + 6 added (5 of the 2026-08-03 additions, Changji Esquel's 2022 listing) - 1 duplicate dropped
# (Aksu Huafu Textiles Co.), in 130 entities (5 listed under two sections, 1 twice with different punctuation);
# 110 CBP rows + 3 added (Serbia Zijin Copper, BAT Malawi, Paakumsuk).
EXPECTED_ENTITIES = {"uflpa": 130, "cbp_wro": 113, "sanctions": 98}
OFFICIAL_URL = (
    r"^https?://([a-z0-9-]+\.)*(federalregister\.gov|govinfo\.gov|dhs\.gov|cbp\.gov|treasury\.gov|treas\.gov|ecfr\.gov"
    r"|congress\.gov|eur-lex\.europa\.eu|gov\.uk|gazette\.gc\.ca|laws-lois\.justice\.gc\.ca|canada\.ca"
    r"|content\.govdelivery\.com)/"
)


@pytest.fixture(scope="module")
def lists() -> dict[str, object]:
    return {item.meta.source: item for item in read_embedded()}


def names_of(lists, source: str, entity_name: str) -> pl.DataFrame:
    item = lists[source]
    ids = item.entities.filter(pl.col("name") == entity_name)["entity_id"]
    assert len(ids) >= 1, f"{entity_name} not in {source}"
    return item.names.filter(pl.col("entity_id").is_in(ids.implode()))


def entity(lists, source: str, entity_name: str) -> dict[str, object]:
    rows = lists[source].entities.filter(pl.col("name") == entity_name)
    assert rows.height == 1, f"{rows.height} rows for {entity_name} in {source}"
    return rows.row(0, named=True)


def test_data_dir_is_the_checkout_data():
    assert paths.data_dir() == REPO / "data"


def test_every_list_has_the_reference_counts_and_canonical_columns(lists):
    assert {source: item.entities.height for source, item in lists.items()} == EXPECTED_ENTITIES
    manifest = {entry["source"]: entry for entry in read_manifest()["lists"]}
    for source, item in lists.items():
        assert item.entities.schema == pl.Schema(ENTITY_SCHEMA)
        assert item.names.schema == pl.Schema(NAME_SCHEMA)
        assert manifest[source]["entities"] == item.entities.height
        assert manifest[source]["names"] == item.names.height
        assert item.meta.origin == "embedded"
        assert item.meta.as_of == max(item.entities["start_date"].max(), item.entities["end_date"].max() or dt.date.min)
        assert item.meta.coverage and item.meta.licence and item.meta.url.startswith("https://")


def test_every_entity_is_cited_with_program_and_source_url(lists):
    for item in lists.values():
        uncited = item.entities.filter(
            pl.col("source_url").fill_null("").str.contains("^https?://").not_()
            | pl.col("program").fill_null("").str.strip_chars().eq("")
            | pl.col("list_name").is_null()
        )
        assert uncited.is_empty(), uncited.select("entity_id", "name").to_dicts()[:3]


def test_every_entity_is_cited_to_an_official_source(lists):
    for item in lists.values():
        urls = item.entities.select("name", url=pl.col("source_url").str.split(" | ")).explode("url")
        unofficial = urls.filter(~pl.col("url").str.contains(OFFICIAL_URL))
        assert unofficial.is_empty(), unofficial.head(3).rows()
        assert item.entities["citation"].null_count() == 0


def test_every_entity_has_its_primary_name_and_names_are_well_formed(lists):
    for item in lists.values():
        primary = item.names.filter(pl.col("kind") == "primary")
        assert primary.height == item.entities.height
        assert primary.join(item.entities, on=["entity_id", "name"]).height == item.entities.height
        assert set(item.names["kind"].unique()) <= set(NAME_KINDS)
        assert set(item.names["lang"].unique()) <= {"en", "zh"}
        assert not item.names.select("entity_id", "name").is_duplicated().any()
        descriptive = item.names.filter(pl.col("name").str.contains(r"(?i)^and\b|^subsidiary of\b|^region-wide$"))
        assert descriptive.is_empty(), descriptive["name"].to_list()


def test_uflpa_programs_dates_and_citations(lists):
    entities = lists["uflpa"].entities
    assert entities["program"].str.contains(r"^(UFLPA 2\(d\)\(2\)\(B\)\((i|ii|iii|iv|v)\)(; )?)+$|^UFLPA Entity List$").all()
    assert entities["start_date"].null_count() == 0
    assert entities["citation"].str.starts_with("Federal Register ").all()
    bayi = entity(lists, "uflpa", "Baowu Group Xinjiang Bayi Iron and Steel Co., Ltd.")
    assert bayi["citation"] == "Federal Register notice effective 2024-10-03 (document number not confirmed)"
    assert bayi["source_url"] == "https://www.dhs.gov/uflpa-entity-list" and "stileintl.com" in bayi["remarks"]
    assert (entities["authority"] == "US-DHS").all() and (entities["status"] == "active").all()
    assert entities["entity_id"].str.starts_with("uflpa:").all()


def test_uflpa_entity_listed_under_two_sections_is_one_entity(lists):
    aksu = entity(lists, "uflpa", "Aksu Huafu Color Spinning Co., Ltd.")
    assert aksu["program"] == "UFLPA 2(d)(2)(B)(ii); UFLPA 2(d)(2)(B)(v)"
    assert aksu["start_date"] == dt.date(2022, 6, 21)
    assert "2025-00901" in aksu["citation"] and "2022-16754" in aksu["citation"]


def test_uflpa_spellings_differing_in_punctuation_are_one_entity(lists):
    daqo = entity(lists, "uflpa", "Xinjiang Daqo New Energy, Co. Ltd.")
    assert daqo["program"] == "UFLPA 2(d)(2)(B)(i); UFLPA 2(d)(2)(B)(v)"
    assert lists["uflpa"].entities.filter(pl.col("name").str.contains("Daqo")).height == 1
    variants = names_of(lists, "uflpa", daqo["name"])
    assert "Xinjiang Daqo New Energy Co., Ltd." in variants.filter(pl.col("kind") == "alias")["name"].to_list()


def test_uflpa_row_without_section_is_not_given_one(lists):
    jinchuan = entity(lists, "uflpa", "Xinjiang Jinchuan Mining Industry Co.")
    assert jinchuan["program"] == "UFLPA Entity List"
    assert "not stated" in jinchuan["remarks"]


def test_uflpa_2026_additions_rest_on_their_notice_and_say_so(lists):
    for name in ("TBEA Co., Ltd.", "SDIC Xinjiang Lithium Industry Co., Ltd.", "Xinjiang Tianhongji Technology Co., Ltd.",
                 "Shihezi Xinren Battery Aluminum Foil Technology Co., Ltd."):
        added = entity(lists, "uflpa", name)
        assert (added["program"], added["start_date"]) == ("UFLPA 2(d)(2)(B)(v)", dt.date(2026, 8, 3))
        assert added["citation"] == "Federal Register 2026-15628" and "secondary only" in added["remarks"]
    coverage = lists["uflpa"].meta.coverage
    assert "of the 187 entries" in coverage and "5 of the 43 entries of 2026-08-03" in coverage
    assert "secondary sources only" in coverage and "TBEA Co., Ltd." in coverage
    assert lists["uflpa"].meta.as_of == dt.date(2026, 8, 3)


def test_uflpa_renamed_entity_keeps_its_id_and_old_names(lists):
    goens = entity(lists, "uflpa", "Xinjiang Goens Energy Technology Co., Ltd.")
    assert goens["entity_id"] == entity_id("uflpa", "Xinjiang GCL New Energy Material Technology, Co. Ltd.")
    assert goens["start_date"] == dt.date(2022, 6, 21) and "2026-15628" in goens["remarks"]
    kinds = dict(names_of(lists, "uflpa", goens["name"]).select("name", "kind").iter_rows())
    assert kinds["Xinjiang GCL New Energy Material Technology Co., Ltd."] == "former"
    assert kinds["Xinjiang GCL New Energy Materials Technology Co., Ltd."] == "former"


def test_uflpa_known_gaps_are_closed(lists):
    entities = lists["uflpa"].entities
    assert entities.filter(pl.col("name").str.starts_with("Aksu Huafu")).height == 1
    aksu = names_of(lists, "uflpa", "Aksu Huafu Color Spinning Co., Ltd.")
    assert "Aksu Huafu Textiles Co., Ltd." in aksu["name"].to_list()
    changji = entity(lists, "uflpa", "Changji Esquel Textile Co., Ltd.")
    assert (changji["program"], changji["start_date"]) == ("UFLPA 2(d)(2)(B)(v)", dt.date(2022, 6, 21))
    assert "section (i) effective 2022-06-21 until 2024-11-01" in changji["remarks"]
    for name in ("Xinjiang Production and Construction Corps", "Xinjiang East Hope Nonferrous Metals Co., Ltd."):
        assert entity(lists, "uflpa", name)["program"] == "UFLPA 2(d)(2)(B)(i)"


def test_uflpa_aliases_and_subsidiaries_are_names(lists):
    ninestar = names_of(lists, "uflpa", "Ninestar Corporation")
    subsidiaries = ninestar.filter(pl.col("kind") == "subsidiary")
    assert subsidiaries["name"].str.contains("Co., Ltd.").sum() == 8
    assert {"Zhuhai Pantum Electronics Co., Ltd.", "珠海奔图电子有限公司"} <= set(subsidiaries["name"])
    assert entity(lists, "uflpa", "Ninestar Corporation")["includes_affiliates"] is True
    hongyuan = names_of(lists, "uflpa", "Hongyuan Green Energy Co., Ltd.")
    assert {"HY Solar", "Hoyuan Green Energy Co. Ltd."} <= set(hongyuan.filter(pl.col("kind") == "alias")["name"])
    hoshine = entity(lists, "uflpa", "Hoshine Silicon Industry (Shanshan) Co., Ltd.")
    assert hoshine["includes_affiliates"] is True
    assert not names_of(lists, "uflpa", hoshine["name"])["name"].str.contains("not individually").any()


def test_chinese_names_are_joined_to_their_entities(lists):
    xpcc = names_of(lists, "uflpa", "Xinjiang Production and Construction Corps")
    assert "新疆生产建设兵团" in xpcc.filter(pl.col("lang") == "zh")["name"].to_list()
    hoshine = names_of(lists, "cbp_wro", "Hoshine Silicon Industry Co. Ltd.")
    assert {"合盛硅业股份有限公司", "合盛硅业"} <= set(hoshine.filter(pl.col("lang") == "zh")["name"])
    ninestar = names_of(lists, "uflpa", "Ninestar Corporation")
    assert ninestar.filter(pl.col("name") == "珠海奔图电子有限公司")["kind"].to_list() == ["subsidiary"]
    zh_entities = sum(item.names.filter(pl.col("lang") == "zh")["entity_id"].n_unique() for item in lists.values())
    assert zh_entities >= 100
    assert "Chinese name per http" in entity(lists, "cbp_wro", "Hoshine Silicon Industry Co. Ltd.")["remarks"]


def test_cbp_orders(lists):
    entities = lists["cbp_wro"].entities
    assert set(entities["program"].unique()) == {"WRO", "Finding"}
    assert set(entities["status"].drop_nulls().unique()) <= set(STATUSES)
    assert entities["country"].str.contains("^[A-Z]{2}$").all()
    assert entities.filter(pl.col("status").is_in(["revoked", "inactive"]))["end_date"].null_count() == 0
    assert entities.filter(pl.col("end_date").is_not_null())["status"].is_in(["revoked", "inactive", "modified"]).all()
    assert entities.filter(pl.col("status") == "partially active")["end_date"].null_count() == 2
    assert entities["citation"].str.starts_with("CBP ").all()
    tunago = entity(lists, "cbp_wro", "Fishing Vessel: Tunago No. 61")
    assert (tunago["entity_type"], tunago["status"], tunago["end_date"]) == ("vessel", "revoked", dt.date(2020, 4, 1))
    xpcc = entity(lists, "cbp_wro", "Xinjiang Production and Construction Corporation (XPCC)")
    assert xpcc["includes_affiliates"] is True and xpcc["merchandise"]
    top_glove = lists["cbp_wro"].entities.filter(pl.col("name") == "Top Glove Corporation Bhd")
    assert sorted(top_glove["program"]) == ["Finding", "WRO"]
    assert top_glove["end_date"].to_list() == [dt.date(2021, 9, 9)] * 2 and (top_glove["status"] == "modified").all()
    zijin = entity(lists, "cbp_wro", "Serbia Zijin Copper D.O.O.")
    assert (zijin["country"], zijin["program"], zijin["status"], zijin["start_date"]) == ("RS", "WRO", "active", dt.date(2026, 6, 16))
    assert entity(lists, "cbp_wro", "Mangalore Ganesh Beedie Works")["country"] == "IN"


def test_sanctions_lists_and_removals(lists):
    entities = lists["sanctions"].entities
    assert set(entities["authority"].unique()) == {"US-BIS", "US-OFAC", "EU", "UK", "CA"}
    assert entities.filter(pl.col("entity_type") == "person").height == 29
    assert {"BIS Entity List", "OFAC SDN List"} <= set(entities["list_name"].unique())
    removed = entity(lists, "sanctions", "Ministry of Public Security's Institute of Forensic Science of China")
    assert (removed["status"], removed["end_date"]) == ("inactive", dt.date(2023, 11, 16))
    zhu = entities.filter(pl.col("name") == "Zhu Hailun")
    assert sorted(zhu["authority"]) == ["CA", "EU", "UK", "US-OFAC"] and zhu["entity_id"].n_unique() == 4
    ifs_names = names_of(lists, "sanctions", removed["name"])["name"].to_list()
    assert "National Narcotics Laboratory of China" in ifs_names


def test_gazetteer_is_shipped_and_checked(data_copy):
    gazetteer = read_gazetteer()
    assert gazetteer.columns == ["name_en", "name_pinyin", "name_zh", "other_spellings", "level", "parent", "ambiguous", "note"]
    assert "乌鲁木齐市" in gazetteer["name_zh"].to_list()
    assert read_manifest()["gazetteer"]["rows"] == gazetteer.height
    with (data_copy / "gazetteer" / "xuar_places.csv").open("a", encoding="utf-8") as handle:
        handle.write("Nowhere,Nowhere,,,county,Xinjiang,no,\n")
    with pytest.raises(EmbeddedDataError, match="xuar_places.csv does not match"):
        read_gazetteer(data_copy)


def test_ensure_embedded_loads_every_list_once(tmp_path):
    with Store(tmp_path / "db.duckdb") as store:
        ids = ensure_embedded(store)
        assert len(ids) == 3
        again = ensure_embedded(store)
        snapshots = store.snapshots()
        current = store.read_current()
    assert again == []
    assert snapshots.height == 3
    counts = current.entities.group_by("source").len()
    assert dict(counts.iter_rows()) == EXPECTED_ENTITIES
    assert (snapshots["origin"] == "embedded").all()


@pytest.fixture
def data_copy(tmp_path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(REPO / "data", copy)
    return copy


def test_tampered_file_gives_one_line_error_and_leaves_store_untouched(tmp_path, data_copy):
    target = data_copy / "lists" / "sanctions_names.csv"
    content = bytearray(target.read_bytes())
    content[-5] ^= 0x01
    target.write_bytes(bytes(content))
    with Store(tmp_path / "db.duckdb") as store:
        with pytest.raises(EmbeddedDataError) as error:
            ensure_embedded(store, data_copy)
        assert store.snapshots().is_empty()
        assert store.scalar("SELECT count(*) FROM entities") == 0
    message = str(error.value)
    assert "\n" not in message and "sanctions_names.csv" in message and "checksum" in message
    with pytest.raises(EmbeddedDataError, match="sanctions_names.csv"):
        read_embedded(data_copy)


def test_missing_file_or_manifest_is_named(data_copy):
    (data_copy / "lists" / "uflpa_entities.csv").unlink()
    with pytest.raises(EmbeddedDataError, match=r"uflpa_entities\.csv is missing"):
        read_embedded(data_copy)
    (data_copy / "manifest.json").unlink()
    with pytest.raises(EmbeddedDataError, match=r"manifest.*is missing"):
        read_embedded(data_copy)


def test_live_snapshot_is_never_replaced(tmp_path, lists):
    uflpa = lists["uflpa"]
    live = dataclasses.replace(uflpa.meta, origin="live", as_of=dt.date(2020, 1, 1), sha256="live")
    with Store(tmp_path / "db.duckdb") as store:
        entities = uflpa.entities.head(10)
        live_id = store.add_snapshot(live, entities, uflpa.names.join(entities.select("entity_id"), on="entity_id"))
        added = ensure_embedded(store)
        current = store.current_snapshots()
    assert len(added) == 2
    in_force = current.filter(pl.col("source") == "uflpa").row(0, named=True)
    assert (in_force["snapshot_id"], in_force["origin"], in_force["row_count"]) == (live_id, "live", 10)


def test_older_or_changed_embedded_copy_is_replaced_but_newer_is_kept(tmp_path, lists):
    uflpa = lists["uflpa"]
    older = dataclasses.replace(uflpa.meta, as_of=uflpa.meta.as_of - dt.timedelta(days=30))
    changed = dataclasses.replace(uflpa.meta, sha256="0" * 64)
    newer = dataclasses.replace(uflpa.meta, as_of=uflpa.meta.as_of + dt.timedelta(days=30), sha256="0" * 64)
    for stored, replaced in ((older, True), (changed, True), (newer, False)):
        with Store(tmp_path / f"{stored.as_of}-{stored.sha256[:4]}.duckdb") as store:
            stored_id = store.add_snapshot(stored, uflpa.entities, uflpa.names)
            ensure_embedded(store)
            current = store.current_snapshots().filter(pl.col("source") == "uflpa").row(0, named=True)
        assert (current["snapshot_id"] != stored_id) is replaced
        if replaced:
            assert (current["as_of"], current["sha256"]) == (uflpa.meta.as_of, uflpa.meta.sha256)


def test_manifest_checksums_cover_every_data_file():
    manifest = read_manifest()
    listed = {name for entry in manifest["lists"] for name in entry["files"]} | set(manifest["gazetteer"]["files"])
    data = REPO / "data"
    on_disk = {path.relative_to(data).as_posix() for path in data.rglob("*.csv") if path.parent != data / "reference"}
    assert listed == on_disk
    assert json.loads((REPO / "data" / "manifest.json").read_text(encoding="utf-8"))["built_at"]


# The build script, run on a small synthetic reference (tests never read the shared reference files).

def load_build_script():
    spec = importlib.util.spec_from_file_location("build_data", REPO / "scripts" / "build_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    pl.DataFrame(rows).write_csv(path)


@pytest.fixture
def reference(tmp_path) -> Path:
    ref = tmp_path / "reference"
    ref.mkdir()
    shared = {"source_url": "https://example.gov/notice", "confidence": "high"}
    write_csv(ref / "uflpa_entity_list.csv", [
        {"name": "Alpha Cotton Co., Ltd.", "aliases": "Alpha Textiles", "subsidiaries": "Alpha Yarn Co., Ltd.",
         "section": "ii", "effective_date": "2023-06-12", "fr_document": "2023-12481", "sector": "cotton", **shared},
        {"name": "Alpha Cotton Co., Ltd.", "aliases": "Alpha Textiles", "subsidiaries": None,
         "section": "v", "effective_date": "2024-05-17", "fr_document": "2024-10544", "sector": "cotton", **shared},
        {"name": "Alpha Cotton Co Ltd", "aliases": None, "subsidiaries": None,
         "section": "v", "effective_date": "2025-01-15", "fr_document": None, "sector": "cotton", **shared},
        {"name": "Beta Metals Co., Ltd.", "aliases": None, "subsidiaries": None,
         "section": None, "effective_date": "2024-11-25", "fr_document": None, "sector": "metals", **shared},
    ])
    write_csv(ref / "cbp_wro_findings.csv", [
        {"entity": "Gamma Gloves Sdn Bhd", "aliases": "and its subsidiaries", "country": "Malaysia", "country_code": "MY",
         "industry": "Rubber", "merchandise": "gloves", "order_type": "WRO", "status": "Revoked",
         "effective_date": "2020-07-15", "modified_or_revoked_date": "2021-09-09", "remarks": "T.D. 12345 applies.", **shared},
    ])
    write_csv(ref / "xinjiang_sanctions_export_controls.csv", [
        {"name": "Delta Bureau", "aliases": "subsidiary of Epsilon", "entity_type": "organization", "authority": "US-BIS",
         "list": "Entity List", "program": "EAR", "country": "China", "address": "Urumqi, Xinjiang, China",
         "date_listed": "2019-10-09", "date_removed": None, "fr_citation_or_release": "FR Doc 2019-22210",
         "reason": "Human rights.", **shared},
    ])
    write_csv(ref / "chinese_names.csv", [
        {"list_file": "uflpa_entity_list.csv", "name": "Alpha Yarn Co., Ltd.", "name_zh": "阿尔法纱线有限公司",
         "name_zh_alternates": "阿尔法纱线", "pinyin": "a'erfa shaxian youxian gongsi", "uscc": None, **shared},
        {"list_file": "cbp_wro_findings.csv", "name": "Nobody Listed Ltd.", "name_zh": "无名公司",
         "name_zh_alternates": None, "pinyin": None, "uscc": None, **shared},
    ])
    write_csv(ref / "xuar_places.csv", [
        {"name_en": "Urumqi", "name_pinyin": "Wulumuqi", "name_zh": "乌鲁木齐市", "other_spellings": "Urumchi",
         "level": "prefecture", "parent": "Xinjiang", "ambiguous": "no", "note": None},
    ])
    return ref


def test_build_script_merges_joins_and_is_deterministic(reference, tmp_path, capsys):
    build = load_build_script()
    out = tmp_path / "out"
    assert build.main(["--reference", str(reference), "--out", str(out), "--additions", str(tmp_path / "none")]) == 0
    assert "Nobody Listed Ltd." in capsys.readouterr().err
    first = {path.name: path.read_bytes() for path in out.rglob("*") if path.is_file()}
    lists = {item.meta.source: item for item in read_embedded(out)}
    alpha = lists["uflpa"].entities.filter(pl.col("name") == "Alpha Cotton Co., Ltd.").row(0, named=True)
    assert alpha["program"] == "UFLPA 2(d)(2)(B)(ii); UFLPA 2(d)(2)(B)(v)"
    assert alpha["start_date"] == dt.date(2023, 6, 12) and alpha["includes_affiliates"] is True
    assert alpha["citation"] == (
        "Federal Register 2023-12481; Federal Register 2024-10544; "
        "Federal Register notice effective 2025-01-15 (document number not confirmed)"
    )
    names = lists["uflpa"].names.filter(pl.col("entity_id") == alpha["entity_id"])
    assert dict(zip(names["name"], names["kind"], strict=True)) == {
        "Alpha Cotton Co., Ltd.": "primary", "Alpha Yarn Co., Ltd.": "subsidiary", "Alpha Textiles": "alias",
        "阿尔法纱线有限公司": "subsidiary", "阿尔法纱线": "subsidiary", "a'erfa shaxian youxian gongsi": "subsidiary",
        "Alpha Cotton Co Ltd": "alias",
    }
    assert "effective 2025-01-15" in alpha["remarks"]
    beta = lists["uflpa"].entities.filter(pl.col("name") == "Beta Metals Co., Ltd.").row(0, named=True)
    assert beta["program"] == "UFLPA Entity List"
    assert beta["citation"] == "Federal Register notice effective 2024-11-25 (document number not confirmed)"
    gamma = lists["cbp_wro"].entities.row(0, named=True)
    assert (gamma["status"], gamma["end_date"], gamma["citation"], gamma["includes_affiliates"]) == (
        "revoked", dt.date(2021, 9, 9), "CBP WRO effective 2020-07-15 (T.D. 12345)", True)
    assert lists["cbp_wro"].names["name"].to_list() == ["Gamma Gloves Sdn Bhd"]
    delta = lists["sanctions"].entities.row(0, named=True)
    assert (delta["list_name"], delta["country"], delta["addresses"]) == ("BIS Entity List", "CN", "Urumqi, Xinjiang, China")
    assert "subsidiary of Epsilon" in delta["remarks"]
    assert build.main(["--reference", str(reference), "--out", str(out), "--additions", str(tmp_path / "none")]) == 0
    assert {path.name: path.read_bytes() for path in out.rglob("*") if path.is_file()} == first


def test_build_script_names_a_missing_reference_file(reference, tmp_path):
    (reference / "cbp_wro_findings.csv").unlink()
    with pytest.raises(SystemExit, match="cbp_wro_findings.csv is missing"):
        load_build_script().main(["--reference", str(reference), "--out", str(tmp_path / "out"),
                                  "--additions", str(tmp_path / "none")])


def write_additions(folder: Path, uflpa: list[dict[str, str | None]], zh: list[dict[str, str | None]]) -> Path:
    folder.mkdir(exist_ok=True)
    for name, rows in (("uflpa_additions.csv", uflpa), ("chinese_names_additions.csv", zh)):
        if rows:
            write_csv(folder / name, rows)
    return folder


def test_build_script_merges_the_cited_additions(reference, tmp_path):
    cited = {"source_url": "https://example.com/alert", "confidence": "medium"}
    repeated = pl.read_csv(reference / "uflpa_entity_list.csv", infer_schema=False).row(3, named=True)
    additions = write_additions(tmp_path / "additions", [
        {"name": "Zeta Walnut Trading Co., Ltd.", "aliases": None, "subsidiaries": None, "section": "v",
         "effective_date": "2024-11-25", "fr_document": None, "sector": "walnuts", **cited},
        repeated,
    ], [
        {"list_file": "uflpa_entity_list.csv", "name": "Zeta Walnut Trading Co., Ltd.", "name_zh": "泽塔核桃贸易有限公司",
         "name_zh_alternates": None, "pinyin": None, "uscc": None, **cited},
    ])
    out = tmp_path / "out"
    manifest = load_build_script().build(reference, out, additions)
    uflpa = {item.meta.source: item for item in read_embedded(out)}["uflpa"]
    assert sorted(uflpa.entities["name"]) == ["Alpha Cotton Co., Ltd.", "Beta Metals Co., Ltd.", "Zeta Walnut Trading Co., Ltd."]
    zeta = uflpa.entities.filter(pl.col("name").str.starts_with("Zeta")).row(0, named=True)
    assert zeta["source_url"] == "https://www.dhs.gov/uflpa-entity-list" and zeta["program"] == "UFLPA 2(d)(2)(B)(v)"
    assert "secondary reports: https://example.com/alert" in zeta["remarks"]
    assert "泽塔核桃贸易有限公司" in uflpa.names.filter(pl.col("entity_id") == zeta["entity_id"])["name"].to_list()
    entry = manifest["lists"][0]
    assert entry["compiled_from"].startswith("uflpa_entity_list.csv (5 rows, 1 of them from scripts/reference_additions/")
    assert "3 entities and 1 named subsidiaries" in entry["coverage"]
    assert "2 of the 30 entries of 2024-11-25" in entry["coverage"]


def test_build_script_refuses_uncited_or_misshapen_additions(reference, tmp_path):
    build = load_build_script()
    row = {"name": "Zeta Co.", "aliases": None, "subsidiaries": None, "section": "v", "effective_date": "2024-11-25",
           "fr_document": None, "sector": None, "source_url": None, "confidence": "medium"}
    uncited = write_additions(tmp_path / "uncited", [row], [])
    with pytest.raises(SystemExit, match="every row needs a source_url.*Zeta Co."):
        build.build(reference, tmp_path / "out", uncited)
    misshapen = write_additions(tmp_path / "misshapen", [{"name": "Zeta Co.", "source_url": "https://example.com"}], [])
    with pytest.raises(SystemExit, match="must have the columns of uflpa_entity_list.csv"):
        build.build(reference, tmp_path / "out", misshapen)
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_repository_additions_are_cited_and_embedded(lists):
    folder = REPO / "scripts" / "reference_additions"
    for path in folder.glob("*.csv"):
        rows = pl.read_csv(path, infer_schema=False)
        assert rows["source_url"].str.contains("^https?://").all(), path.name
    taida = names_of(lists, "uflpa", "Hetian Taida Apparel Co., Ltd.")
    assert "和田泰达服饰有限公司" in taida.filter(pl.col("lang") == "zh")["name"].to_list()


def write_corrections(folder: Path, rows: list[dict[str, str | None]]) -> Path:
    folder.mkdir(exist_ok=True)
    columns = ["file", "name", "effective_date", "field", "value", "source_url", "note"]
    pl.DataFrame([{column: row.get(column) for column in columns} for row in rows], schema=dict.fromkeys(columns, pl.String)
                 ).write_csv(folder / "corrections.csv")
    return folder


def test_build_script_applies_cited_corrections(reference, tmp_path):
    cited = {"file": "uflpa_entity_list.csv", "source_url": "https://www.federalregister.gov/d/2026-15628"}
    additions = write_corrections(tmp_path / "fixes", [
        {**cited, "name": "Alpha Cotton Co Ltd", "effective_date": "2025-01-15", "field": "drop", "note": "Duplicate"},
        {**cited, "name": "Alpha Cotton Co., Ltd.", "effective_date": "2023-06-12", "field": "until", "value": "2024-05-17",
         "note": "Moved to (v)"},
        {**cited, "name": "Beta Metals Co., Ltd.", "field": "section", "value": "ii", "note": "Section confirmed"},
        {**cited, "name": "Beta Metals Co., Ltd.", "field": "name", "value": "Beta Renamed Metals Co., Ltd.", "note": "Renamed"},
    ])
    load_build_script().build(reference, tmp_path / "out", additions)
    uflpa = {item.meta.source: item for item in read_embedded(tmp_path / "out")}["uflpa"]
    alpha = uflpa.entities.filter(pl.col("name") == "Alpha Cotton Co., Ltd.").row(0, named=True)
    assert alpha["program"] == "UFLPA 2(d)(2)(B)(v)" and alpha["start_date"] == dt.date(2023, 6, 12)
    assert "section (ii) effective 2023-06-12 until 2024-05-17" in alpha["remarks"] and "Moved to (v)" in alpha["remarks"]
    assert "Alpha Cotton Co Ltd" not in uflpa.names["name"].to_list()
    beta = uflpa.entities.filter(pl.col("name") == "Beta Renamed Metals Co., Ltd.").row(0, named=True)
    assert beta["entity_id"] == entity_id("uflpa", "Beta Metals Co., Ltd.") and beta["program"] == "UFLPA 2(d)(2)(B)(ii)"
    former = uflpa.names.filter(pl.col("entity_id") == beta["entity_id"]).filter(pl.col("kind") == "former")
    assert former["name"].to_list() == ["Beta Metals Co., Ltd."]


def test_build_script_refuses_a_correction_it_cannot_apply(reference, tmp_path):
    build = load_build_script()
    cited = {"file": "uflpa_entity_list.csv", "source_url": "https://www.federalregister.gov/d/2026-15628"}
    nobody = write_corrections(tmp_path / "nobody", [{**cited, "name": "Nobody Co.", "field": "drop"}])
    with pytest.raises(SystemExit, match="no row of uflpa_entity_list.csv named 'Nobody Co.'"):
        build.build(reference, tmp_path / "out", nobody)
    field = write_corrections(tmp_path / "field", [{**cited, "name": "Beta Metals Co., Ltd.", "field": "colour", "value": "x"}])
    with pytest.raises(SystemExit, match="no field 'colour'"):
        build.build(reference, tmp_path / "out", field)
    uncited = write_corrections(tmp_path / "uncited", [{"file": "uflpa_entity_list.csv", "name": "Beta Metals Co., Ltd.",
                                                        "field": "drop"}])
    with pytest.raises(SystemExit, match="every correction needs a source_url"):
        build.build(reference, tmp_path / "out", uncited)


def test_build_script_ends_a_modified_order_and_cites_secondary_reports_in_remarks(reference, tmp_path):
    rows = pl.read_csv(reference / "cbp_wro_findings.csv", infer_schema=False).with_columns(
        status=pl.lit("Modified"), source_url=pl.lit("https://www.cbp.gov/newsroom/release | https://example.com/blog"))
    rows.write_csv(reference / "cbp_wro_findings.csv")
    load_build_script().build(reference, tmp_path / "out", tmp_path / "none")
    gamma = {item.meta.source: item for item in read_embedded(tmp_path / "out")}["cbp_wro"].entities.row(0, named=True)
    assert (gamma["status"], gamma["end_date"]) == ("modified", dt.date(2021, 9, 9))
    assert "no longer in force" in gamma["remarks"] and "https://example.com/blog" in gamma["remarks"]
    assert gamma["source_url"] == "https://www.cbp.gov/newsroom/release"
