"""Property tests: whatever text a supplier file holds, reading it keeps every supplier."""

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screener.columns import detect_columns
from screener.supplier_io import read_suppliers

CI_BUDGET = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

supplier_names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=60
).filter(lambda name: name.strip())
countries = st.sampled_from(["CN", "中国", "VN", "", "US"])


def csv_file(rows: list[tuple[str, str]], delimiter: str, encoding: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(["Supplier Name", "Country"])
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


@CI_BUDGET
@given(
    rows=st.lists(st.tuples(supplier_names, countries), min_size=1, max_size=15),
    delimiter=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]),
)
def test_any_supplier_names_survive_reading(rows, delimiter, encoding):
    frame = read_suppliers(csv_file(rows, delimiter, encoding), filename="suppliers.csv")
    names = frame[detect_columns(frame).name].to_list()
    assert [name.strip() for name in names] == [name.strip() for name, _ in rows]
