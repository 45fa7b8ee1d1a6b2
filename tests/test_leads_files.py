"""Reading lead files (CSV/JSONL, encodings, line numbers), column mapping and row building."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from reauto.errors import UsageError
from reauto.leads.build import ConsentPolicy, build_lead, parse_datetime, parse_flag, split_name
from reauto.leads.mapping import ColumnMapping, MappedRow, alias_field, as_text, as_texts, load_mapping_file
from reauto.leads.readers import Progress, csv_header, decode_line, read_csv, read_records, sniff_delimiter

pytestmark = pytest.mark.unit
DATA = Path(__file__).parent / "data" / "leads"
NOW = datetime(2026, 11, 24, tzinfo=UTC)


def write(tmp_path: Path, data: bytes, name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_delimiters_are_sniffed(tmp_path, delimiter):
    text = delimiter.join(["First Name", "Phone"]) + "\n" + delimiter.join(["Ann", "512 555 0123"]) + "\n"
    records = list(read_csv(write(tmp_path, text.encode())))
    assert records[0].values == {"First Name": "Ann", "Phone": "512 555 0123"}
    assert records[0].line == 2


def test_sniff_single_column_defaults_to_comma():
    assert sniff_delimiter("phone\n") == ","


def test_bom_crlf_quoted_newlines_and_line_numbers(tmp_path):
    data = b'\xef\xbb\xbfname,phone,notes\r\n"Doe, Jane",5125550123,"two\r\nlines"\r\n\r\nBob,5125550124,x\r\nCy,5125550125'
    records = list(read_csv(write(tmp_path, data)))
    assert [r.line for r in records] == [2, 5, 6]
    assert records[0].values["name"] == "Doe, Jane"
    assert records[0].values["notes"] == "two\r\nlines"
    assert records[2].values["phone"] == "5125550125"  # last line without newline


def test_non_utf8_lines_are_decoded_with_a_warning(tmp_path):
    data = "name,phone\nJos\xe9,5125550123\nAnn,5125550124\n".encode("latin-1") + b"Bad\x81,5125550125\n"
    records = list(read_csv(write(tmp_path, data)))
    assert records[0].values["name"] == "José"
    assert records[0].warnings == ["line 2: bytes b'\\xe9' are not UTF-8; line decoded as cp1252"]
    assert records[1].warnings == []
    assert records[2].values["name"] == "Bad\x81"
    assert "latin-1" in records[2].warnings[0]


def test_undecodable_header_warning_goes_to_first_record(tmp_path):
    data = "n\xe4me,phone\nAnn,5125550123\n".encode("latin-1")
    records = list(read_csv(write(tmp_path, data)))
    assert "nÃ¤me" not in records[0].values and "näme" in records[0].values
    assert records[0].warnings[0].startswith("line 1:")


def test_decode_line():
    assert decode_line("é".encode()) == ("é", None)


def test_utf16_excel_export(tmp_path):
    data = "Name\tPhone\r\nAnn\t512 555 0123\r\n".encode("utf-16")
    records = list(read_csv(write(tmp_path, data), Progress(total_bytes=len(data))))
    assert records[0].values == {"Name": "Ann", "Phone": "512 555 0123"}


def test_too_many_fields_unbalanced_quote_and_bad_csv(tmp_path):
    rows = ["a,b", "1,2,3", '4,"open'] + ["x"] * 25 + ["5,6"]
    records = list(read_csv(write(tmp_path, "\n".join(rows).encode())))
    assert records[0].error.startswith("3 fields but the header has 2")
    assert records[1].error.startswith("unbalanced quote: the record runs from line 3 to line")
    nul = list(read_csv(write(tmp_path, b"a,b\n1,\x002\n3,4\n", "nul.csv")))
    assert [r.line for r in nul] == [2, 3]
    assert nul[1].values == {"a": "3", "b": "4"}


def test_csv_error_is_reported_and_reading_goes_on(tmp_path):
    records = list(read_csv(write(tmp_path, b"a,b\n1," + b"x" * 200_000 + b"\n3,4\n")))
    assert records[0].error == "unreadable CSV: field larger than field limit (131072)"
    assert (records[1].line, records[1].values) == (3, {"a": "3", "b": "4"})


def test_consent_evidence_columns():
    row = ColumnMapping().apply({"Phone": "5125550123", "Consent URL": "https://x/1", "Consent IP": ""})
    assert row.evidence == [("Consent URL", "https://x/1")]


def test_header_names_are_made_unique(tmp_path):
    path = write(tmp_path, b"Phone,Phone,,x\n1,2,3,4\n")
    assert csv_header(path) == ["Phone", "Phone (2)", "column 3", "x"]
    assert csv_header(write(tmp_path, b"", "empty.csv")) == []


def test_empty_and_missing_files(tmp_path):
    with pytest.raises(UsageError, match="empty file"):
        list(read_csv(write(tmp_path, b"\n\n")))
    with pytest.raises(UsageError, match="cannot open"):
        list(read_csv(tmp_path / "nope.csv"))


def test_tiny_file_without_newline(tmp_path):
    records = list(read_csv(write(tmp_path, b"a\n1")))
    assert records[0].values == {"a": "1"}


def test_jsonl_records_and_errors():
    progress = Progress(total_bytes=(DATA / "broken.jsonl").stat().st_size)
    records = list(read_records(DATA / "broken.jsonl", progress))
    assert [r.line for r in records] == [1, 2, 3, 5, 6, 7, 8]
    assert records[1].values["phone"] == 5125550173
    assert records[2].error.startswith("invalid JSON: Expecting property name")
    assert records[3].error == "expected a JSON object, got list"
    assert progress.done_bytes == progress.total_bytes


def test_jsonl_non_utf8_line(tmp_path):
    path = write(tmp_path, '{"name": "Jos\xe9"}\n'.encode("latin-1"), "x.jsonl")
    (record,) = read_records(path)
    assert record.values == {"name": "José"} and record.warnings


@pytest.mark.parametrize(
    ("header", "field"),
    [("First Name", "first_name"), ("first", "first_name"), ("LAST_NAME", "last_name"),
     ("Phone 1", "phone"), ("Phone 2", "phone"), ("Mobile", "phone"), ("Cell #", "phone"),
     ("Home Phone", "phone"), ("E-mail", "email"), ("Street", "address"), ("Zip Code", "zip"),
     ("Postal Code", "zip"), ("TCPA Consent", "consent"), ("Opt In", "consent"),
     ("Opt-In Date", "consent_at"), ("Consent Text", "consent_text"), ("Lead Source", "source"),
     ("TrustedForm Cert URL", "consent_evidence"), ("Notes", "notes"), ("Budget", None)],
)
def test_aliases(header, field):
    assert alias_field(header) == field


def test_mapping_options_beat_aliases_and_keep_custom_columns():
    mapping = ColumnMapping.from_options(['phone="Phone 2"', "first_name=Nick", "ignore=Secret"])
    row = mapping.apply({"Phone 1": "111", "Phone 2": "5125550123", "First Name": "Ann",
                         "Nick": "Annie", "Secret": "x", "Budget": " 300k ", "Empty": " "})
    assert row.phones == [("Phone 2", "5125550123")]
    assert row.fields["first_name"] == "Annie"
    assert row.custom == {"Phone 1": "111", "First Name": "Ann", "Budget": "300k"}
    assert mapping.missing(["Phone 2"]) == ["Nick", "Secret"]


@pytest.mark.parametrize(
    ("pairs", "message"),
    [(["phone"], "expected field=Column"), (["=x"], "expected field=Column"),
     (["colour=Col"], "unknown lead field 'colour'")],
)
def test_bad_map_options(pairs, message):
    with pytest.raises(UsageError, match=message):
        ColumnMapping.from_options(pairs)


def test_single_field_takes_one_column():
    with pytest.raises(UsageError, match="can come from one column"):
        ColumnMapping({"email": ["a", "b"]})


def test_mapping_file(tmp_path):
    assert load_mapping_file(DATA / "mapping.yaml")["phone"] == ["Cell #", "Home Phone"]
    flat = write(tmp_path, b"email: Mail\nphone: 7\n", "m.yaml")
    assert load_mapping_file(flat) == {"email": ["Mail"], "phone": ["7"]}
    cases = {
        b"email: [Mail\n": "invalid YAML",
        b"- a\n": "maps lead fields to columns",
        b"colour: x\n": "unknown lead field",
        b"email: []\n": "expected a column name",
    }
    for text, message in cases.items():
        with pytest.raises(UsageError, match=message):
            load_mapping_file(write(tmp_path, text, "bad.yaml"))
    with pytest.raises(UsageError, match="cannot read"):
        load_mapping_file(tmp_path / "missing.yaml")


def test_as_text_and_texts():
    assert as_text(True) == "true" and as_text(False) == "false"
    assert as_text(5125550123.0) == "5125550123"
    assert as_text({"a": 1}) == '{"a": 1}' and as_text([]) is None
    assert as_texts(["512", None, " "]) == ["512"]
    assert as_texts("512-555-0150; 512-555-0151 | 3") == ["512-555-0150", "512-555-0151", "3"]
    assert as_texts(None) == []


def build(fields=None, phones=(("Phone", "5125550123"),), evidence=(), policy=ConsentPolicy()):
    row = MappedRow(fields=dict(fields or {}), phones=list(phones), evidence=list(evidence))
    return build_lead(row, file="f.csv", line=7, policy=policy, now=NOW)


def test_build_consent_kinds():
    draft, issues = build({"consent": "Yes", "consent_text": "prior express written consent, artificial voice, texts",
                           "consent_at": "1768485780", "consent_method": "web form"},
                          evidence=[("Consent IP", "1.2.3.4")])
    c = draft.consent
    assert (c["kind"], c["covers_artificial_voice"], c["covers_texts"], c["method"]) == (
        "prior_express_written", True, True, "web form")
    assert c["obtained_at"] == datetime(2026, 1, 15, 14, 3, tzinfo=UTC)
    assert "Consent IP: 1.2.3.4" in c["evidence"] and "f.csv line 7" in c["evidence"]
    assert draft.row["has_written_consent"] is True and issues == []
    plain, _ = build({"consent": "y"})
    assert plain.consent["kind"] == "express" and plain.row["has_written_consent"] is False
    flagged, _ = build({"consent": "1"}, policy=ConsentPolicy(written=True, artificial_voice=True))
    assert flagged.consent["kind"] == "prior_express_written" and flagged.consent["covers_artificial_voice"]
    dated, _ = build({"consent": "2026-01-15"})
    assert dated.consent["obtained_at"] == datetime(2026, 1, 15, tzinfo=UTC)
    assert build({"consent": "no"})[0].consent is None


def test_build_consent_warnings():
    draft, issues = build({"consent": "maybe"})
    assert draft.consent is None and issues[0].reason.startswith("consent value not understood")
    draft, issues = build({"consent": "yes", "consent_at": "someday"})
    assert draft.consent["obtained_at"] is None and issues[0].field == "consent_at"
    draft, issues = build({"consent": "yes", "consent_at": "2030-01-01"})
    assert draft.consent["obtained_at"] is None and "future" in issues[0].reason


def test_build_fields():
    draft, issues = build({"full_name": "Doe, Jane", "email": "not-an-email", "state": "Narnia",
                           "address": "12 Elm St\r\nApt 4", "city": "x" * 130, "notes": "a\r\nb"},
                          phones=[("P1", "bad"), ("P2", "(512) 555-0123"), ("P3", "512.555.0123"),
                                  ("P4", "(512) 555-0124 x9")])
    row = draft.row
    assert (row["first_name"], row["last_name"]) == ("Jane", "Doe")
    assert row["email"] is None and row["state"] == "TX"  # unknown state → from the area code
    assert row["address"] == "12 Elm St, Apt 4" and len(row["city"]) == 120 and row["notes"] == "a\nb"
    assert row["alt_phones"] == ["+15125550124"]
    assert {i.field for i in issues} == {"P1", "email", "state", "city"}


def test_build_rejects():
    assert build(phones=[])[1][0].reason == "no phone number"
    draft, issues = build(phones=[("A", "x"), ("B", "12")])
    assert draft is None and issues[0].reason == "invalid phone: contains letters (and 1 more invalid)"
    draft, issues = build({"external_id": "x" * 121})
    assert draft is None and issues[0].field == "external_id"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2026-01-15T14:03:00Z", datetime(2026, 1, 15, 14, 3, tzinfo=UTC)),
     ("2026-01-15T09:03:00-05:00", datetime(2026, 1, 15, 14, 3, tzinfo=UTC)),
     ("01/15/2026 02:03 PM", datetime(2026, 1, 15, 14, 3, tzinfo=UTC)),
     ("1/15/26", datetime(2026, 1, 15, tzinfo=UTC)),
     ("Jan 15, 2026", datetime(2026, 1, 15, tzinfo=UTC)),
     ("1768485780000", datetime(2026, 1, 15, 14, 3, tzinfo=UTC)),
     ("soon", None)],
)
def test_parse_datetime(text, expected):
    assert parse_datetime(text) == expected


def test_flags_and_names():
    assert parse_flag(" Opted  In ") is True and parse_flag("N") is False and parse_flag("?") is None
    assert split_name("Jane Q. Doe") == ("Jane Q.", "Doe")
    assert split_name("Cher") == ("Cher", None)
    assert split_name("Doe,") == (None, "Doe")
