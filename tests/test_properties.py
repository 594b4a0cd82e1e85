"""Property tests: whatever text a supplier file holds, reading it keeps every supplier."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screener.columns import detect_columns
from screener.supplier_io import read_suppliers

CI_BUDGET = settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

# Control characters are left to the hostile corpus (tests/bad_inputs.py): a file made mostly of them is rightly
# refused as binary.
supplier_names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60
).filter(lambda name: name.strip())
countries = st.sampled_from(["CN", "中国", "VN", "", "US"])


def csv_file(rows: list[tuple[str, str]], delimiter: str, encoding: str, line_ending: str = "\n") -> bytes:
    """The rows as spreadsheet programs write them: a field quoted when it holds the delimiter, a quote or a line break."""
    def field(value: str) -> str:
        if any(special in value for special in (delimiter, '"', "\r", "\n")):
            return '"' + value.replace('"', '""') + '"'
        return value

    records = [("Supplier Name", "Country"), *rows]
    return "".join(delimiter.join(map(field, record)) + line_ending for record in records).encode(encoding)


@CI_BUDGET
@given(
    rows=st.lists(st.tuples(supplier_names, countries), min_size=1, max_size=15),
    delimiter=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]),
    line_ending=st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_any_supplier_names_survive_reading(rows, delimiter, encoding, line_ending):
    frame = read_suppliers(csv_file(rows, delimiter, encoding, line_ending), filename="suppliers.csv")
    names = frame[detect_columns(frame).name].to_list()
    assert [name.strip() for name in names] == [name.strip() for name, _ in rows]
