"""OpenSanctions FollowTheMoney JSON lines, several datasets in one snapshot."""

import datetime as dt

import polars as pl
import pytest

from sources import opensanctions
from sources.base import SourceFormatError, Validators
from tests.fixtures.sources.mock_http import FakeWeb, fixture, ok
from tests.fixtures.sources.parsed import entity, names_of

DATASETS = ("us_dhs_uflpa", "shu_uyghur_companies")
URLS = {dataset: opensanctions.URL.format(dataset=dataset) for dataset in DATASETS}


def web(**overrides) -> FakeWeb:
    return FakeWeb({
        URLS[dataset]: overrides.get(dataset, ok(fixture(f"opensanctions/{dataset}.ftm.json"), etag=f'"{dataset}-1"'))
        for dataset in DATASETS
    })


def parse(fake: FakeWeb | None = None):
    source = opensanctions.make_source(DATASETS)
    return source.parse(source.download((fake or web()).client(), opensanctions.URL, Validators()))


def test_official_lists_are_legal_and_research_datasets_are_research():
    parsed = parse()
    assert parsed.entities.height == 6
    ninestar = entity(parsed, "Ninestar Corporation")
    assert (ninestar["list_kind"], ninestar["authority"]) == ("legal", "US-DHS")
    assert ninestar["program"].endswith("2(d)(2)(B)(ii)")
    assert ninestar["start_date"] == dt.date(2023, 6, 12)
    assert ninestar["source_url"] == "https://www.dhs.gov/uflpa-entity-list"
    lihua = entity(parsed, "Xinjiang Lihua Cotton Industry Co., Ltd.")
    assert (lihua["list_kind"], lihua["authority"], lihua["country"]) == ("research", "SHU", "CN")
    assert lihua["addresses"].startswith("Korla Economic and Technological Development Zone")
    assert lihua["sector"] == "Cotton ginning and textiles"
    assert "labour transfers" in lihua["remarks"]


def test_chinese_names_aliases_and_former_names_are_kept():
    parsed = parse()
    aliases = names_of(parsed, "Xinjiang Lihua Cotton Industry Co., Ltd.", "alias")
    assert "新疆利华棉业股份有限公司" in aliases and "Lihua Cotton" in aliases
    lang = parsed.names.filter(pl.col("name") == "新疆利华棉业股份有限公司")["lang"].to_list()
    assert lang == ["zh"]
    assert names_of(parsed, "Xinjiang Tianye (Group) Co., Ltd.", "former") == ["Xinjiang Tianye Chemical Co."]


def test_ownership_gives_the_parent_its_subsidiaries_names():
    parsed = parse()
    assert names_of(parsed, "Ninestar Corporation", "subsidiary") == ["Zhuhai Pantum Electronics Co. Ltd."]
    assert names_of(parsed, "Xinjiang Tianye (Group) Co., Ltd.", "subsidiary") == ["新疆天业节水灌溉股份有限公司"]


def test_all_unchanged_datasets_mean_not_modified():
    fake = web()
    previous = Validators(etag='"us_dhs_uflpa-1"\n"shu_uyghur_companies-1"')
    download = opensanctions.make_source(DATASETS).download(fake.client(), opensanctions.URL, previous)
    assert download.not_modified


def test_one_changed_dataset_refetches_the_unchanged_one_in_full():
    fake = web()
    previous = Validators(etag='"us_dhs_uflpa-1"\n"shu_uyghur_companies-0"')
    download = opensanctions.make_source(DATASETS).download(fake.client(), opensanctions.URL, previous)
    assert not download.not_modified
    assert all(fetched.content for fetched in download.files.values())
    assert len(fake.hits(URLS["us_dhs_uflpa"])) == 2


def test_a_file_that_is_not_json_lines_is_refused():
    fake = web(shu_uyghur_companies=ok(b"<html><body>Service unavailable</body></html>"))
    with pytest.raises(SourceFormatError, match="not FollowTheMoney JSON lines"):
        parse(fake)
