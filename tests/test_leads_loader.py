"""Loading lead files into the database: messy CSV, JSONL, mapping, idempotence, crash safety."""

from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from reauto.errors import UsageError
from reauto.leads import loader
from reauto.leads.dnc import add_number
from reauto.leads.loader import get_or_create_campaign, load_leads
from reauto.leads.mapping import ColumnMapping
from reauto.store.models import Campaign, ConsentRecord, Lead

pytestmark = pytest.mark.integration
DATA = Path(__file__).parent / "data" / "leads"
MESSY = DATA / "messy.csv"

#: Every record of messy.csv that is not loaded as is: (line, kind, field, reason).
MESSY_ISSUES = [
    (4, "warning", "encoding", "line 4: bytes b'\\xe9' are not UTF-8; line decoded as cp1252"),
    (5, "duplicate", "phone", "duplicate of line 2"),
    (6, "rejected", "Phone 1", "invalid phone: too short: no area code"),
    (7, "warning", "consent", "consent value not understood; no consent recorded"),
    (10, "rejected", "Phone 1", "invalid phone: not a valid number (unassigned area code or exchange)"),
    (11, "rejected", "phone", "no phone number"),
    (12, "rejected", "Phone 1", "invalid phone: contains letters"),
    (13, "rejected", "Phone 1", "invalid phone: too long"),
    (17, "duplicate", "phone", "duplicate of line 3"),
    (19, "rejected", "row", "19 fields but the header has 16 (an unquoted delimiter inside a value?)"),
    (20, "rejected", "Phone 1", "invalid phone: premium-rate number"),
    (21, "rejected", "Phone 1", "invalid phone: toll-free number (not a personal line)"),
    (23, "rejected", "Phone 1", "a number in GB, outside the campaign's countries (US)"),
    (25, "warning", "Phone 2",
     "alternate phone ignored: not a valid number (unassigned area code or exchange)"),
]


@pytest.fixture(params=["pg", "sqlite"])
def engine(request):
    return request.getfixturevalue("pg_engine" if request.param == "pg" else "sqlite_engine")


async def leads_by_phone(engine) -> dict[str, Lead]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(Lead.__table__))).all()
    return {r.phone_e164: r for r in rows}


async def count(engine, table) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(table)))


async def test_messy_csv_good_rows_land_and_every_bad_row_is_reported(engine):
    report = await load_leads(engine, MESSY, "spring", batch_size=4)
    assert [(i.line, i.kind, i.field, i.reason) for i in report.issues] == MESSY_ISSUES
    assert (report.rows, report.inserted, report.rejected, report.duplicates_in_file) == (21, 10, 9, 2)
    assert (report.already_present, report.consent_records, report.batches) == (0, 1, 3)
    assert report.issues[1].value == "+15128675309"
    leads = await leads_by_phone(engine)
    assert len(leads) == 10
    jane = leads["+15128675309"]
    assert (jane.first_name, jane.address, jane.state, jane.timezone) == (
        "Jane", "100 Congress Ave, Suite 5", "TX", "America/Chicago")
    assert jane.has_written_consent and jane.custom["Property Type"] == "Condo"
    assert jane.custom["_import"] == {"file": "messy.csv", "line": 2, "tz_basis": "address",
                                      "line_type": "fixed_or_mobile"}
    assert leads["+15125550123"].first_name == "José" and leads["+15125550123"].last_name == "García"
    john = leads["+15125550188"]
    assert john.alt_phones == ["+17375550142"] and john.notes == "Call after 5, weekdays"
    carol = leads["+12105550147"]
    assert (carol.address, carol.notes, carol.state) == ("12 Elm St, Apt 4", "Loves the\nriver walk", "TX")
    hank = leads["+12085550123"]
    assert hank.timezone is None and hank.tz_candidates == ["America/Boise", "America/Los_Angeles"]
    assert hank.state == "ID"  # from the area code
    assert leads["+18505550111"].timezone == "America/Chicago"  # Pensacola, not the area code's zone
    assert leads["+15125550150"].alt_phones == ["+15125550151"]
    assert leads["+14155550132"].last_name == "Park"  # short row: missing trailing fields
    assert str(leads["+15128675309"].status) in ("new", "LeadStatus.NEW")
    async with engine.connect() as conn:
        consent = (await conn.execute(select(ConsentRecord.__table__))).one()
    assert consent.lead_id == jane.id and consent.kind == "prior_express_written"
    assert consent.covers_artificial_voice and consent.obtained_at.isoformat() == "2026-01-15T14:03:00+00:00"


async def test_loading_the_same_file_twice_changes_nothing(engine):
    await load_leads(engine, MESSY, "spring")

    async def snapshot():
        async with engine.connect() as conn:
            leads = (await conn.execute(select(Lead.id, Lead.updated_at, Lead.status).order_by(Lead.id))).all()
        return leads, await count(engine, ConsentRecord), await count(engine, Campaign)

    before = await snapshot()
    again = await load_leads(engine, MESSY, "spring")
    assert (again.inserted, again.already_present, again.consent_records) == (0, 10, 0)
    assert await snapshot() == before
    other = await load_leads(engine, MESSY, "autumn")  # another campaign may hold the same people
    assert other.inserted == 10


async def test_a_crash_mid_load_leaves_no_half_batch_and_a_rerun_completes(engine, monkeypatch):
    real = loader._insert_consents
    calls = []

    async def failing(conn, consents):
        calls.append(len(consents))
        await real(conn, consents)  # batch 2's leads are written in its transaction …
        if len(calls) == 2:
            raise RuntimeError("disk full")  # … then the batch fails before commit

    monkeypatch.setattr(loader, "_insert_consents", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        await load_leads(engine, MESSY, "spring", batch_size=5)
    leads = await leads_by_phone(engine)
    assert sorted(r.custom["_import"]["line"] for r in leads.values()) == [2, 3, 4, 7, 14]  # batch 1
    assert await count(engine, ConsentRecord) == 1
    monkeypatch.setattr(loader, "_insert_consents", real)
    rerun = await load_leads(engine, MESSY, "spring", batch_size=5)
    assert (rerun.inserted, rerun.already_present) == (5, 5)
    assert len(await leads_by_phone(engine)) == 10


async def test_jsonl_with_a_broken_line(engine):
    report = await load_leads(engine, DATA / "broken.jsonl", "web")
    issues = [(i.line, i.kind, i.field, i.reason) for i in report.issues]
    assert issues == [
        (3, "rejected", "json", "invalid JSON: Expecting property name enclosed in double quotes (column 59)"),
        (5, "rejected", "json", "expected a JSON object, got list"),
        (6, "rejected", "phone", "invalid phone: contains letters"),
        (7, "duplicate", "external_id", "same external id as line 1"),
    ]
    assert report.inserted == 3
    leads = await leads_by_phone(engine)
    ann = leads["+15125550171"]
    assert (ann.external_id, ann.alt_phones, ann.state, ann.custom["budget"]) == (
        "A-1", ["+15125550172"], "TX", 350000)
    ben = leads["+15125550173"]
    assert ben.zip == "78704" and ben.custom["tags"] == ["pool", "garage"]
    ed = leads["+13035550175"]
    assert (ed.first_name, ed.last_name, ed.has_written_consent) == ("Ed", "Doe", False)
    async with engine.connect() as conn:
        consent = (await conn.execute(select(ConsentRecord.__table__))).one()
    assert (consent.kind, consent.covers_artificial_voice, consent.covers_texts) == ("express", True, True)
    assert consent.obtained_at.isoformat() == "2026-01-15T14:03:00+00:00"
    again = await load_leads(engine, DATA / "broken.jsonl", "web")
    assert (again.inserted, again.already_present) == (0, 3)


async def test_same_external_id_with_a_new_number_is_already_present(engine, tmp_path):
    first = tmp_path / "a.jsonl"
    first.write_text('{"id": "X", "phone": "5125550101"}\n')
    await load_leads(engine, first, "c")
    first.write_text('{"id": "X", "phone": "5125550102"}\n')
    report = await load_leads(engine, first, "c")
    assert (report.inserted, report.already_present) == (0, 1)


async def test_column_mapping_file_and_aliases(engine):
    mapping = ColumnMapping.from_options([], DATA / "mapping.yaml")
    report = await load_leads(engine, DATA / "crm_export.csv", "acme", mapping=mapping)
    assert report.inserted == 2 and report.issues == []
    leads = await leads_by_phone(engine)
    pat, ray = leads["+15125550181"], leads["+15125550182"]
    assert (pat.first_name, pat.last_name, pat.external_id, pat.state) == ("Pat", "Smith", "X-1", "TX")
    assert (ray.first_name, ray.last_name, ray.state) == ("Ray", "Diaz", "FL")
    assert "Lead Score" not in pat.custom


async def test_mapped_column_missing_from_header(engine):
    mapping = ColumnMapping.from_options(['phone="Phone 9"'])
    with pytest.raises(UsageError, match="not in the header: Phone 9"):
        await load_leads(engine, MESSY, "spring", mapping=mapping)
    assert await count(engine, Campaign) == 0


async def test_numbers_on_a_dnc_list_are_loaded_flagged(engine):
    await add_number(engine, "512-867-5309", reason="asked")
    report = await load_leads(engine, MESSY, "spring")
    assert report.dnc_flagged == 1
    jane = (await leads_by_phone(engine))["+15128675309"]
    assert jane.dnc and jane.status == "dnc"


async def test_campaign_get_or_create(engine):
    first = await get_or_create_campaign(engine, " spring ")
    assert await get_or_create_campaign(engine, "spring") == first
    for bad in ("", "x" * 121):
        with pytest.raises(UsageError, match="campaign name"):
            await get_or_create_campaign(engine, bad)


async def test_bad_arguments(engine, tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        await load_leads(engine, tmp_path / "none.csv", "c")
    with pytest.raises(UsageError, match="batch size"):
        await load_leads(engine, MESSY, "c", batch_size=0)


async def test_progress_callback(engine, tmp_path):
    seen = []
    await load_leads(engine, MESSY, "c", on_progress=lambda p, r: seen.append((p.done_bytes, r.rows)))
    assert seen[-1] == (MESSY.stat().st_size, 21)
    big = tmp_path / "big.csv"
    big.write_text("phone\n" + "".join(f"512555{i:04d}\n" for i in range(600)))
    ticks = []
    report = await load_leads(engine, big, "big", on_progress=lambda p, r: ticks.append(r.rows))
    assert ticks == [500, 600] and report.inserted == 600


async def test_summary_lists(engine):
    summary = (await load_leads(engine, MESSY, "c")).summary()
    assert len(summary["rejects"]) == 9 and len(summary["duplicates"]) == 2 and len(summary["warnings"]) == 3
    assert summary["rejects"][0] == {"file": "messy.csv", "line": 6, "field": "Phone 1",
                                     "value": "555-0123", "reason": "invalid phone: too short: no area code"}


async def test_live_call_keeps_status_when_flagged(pg_engine):
    await load_leads(pg_engine, MESSY, "c")
    async with pg_engine.begin() as conn:
        await conn.execute(update(Lead).where(Lead.phone_e164 == "+15128675309").values(status="in_call"))
    change = await add_number(pg_engine, "+15128675309")
    jane = (await leads_by_phone(pg_engine))["+15128675309"]
    assert change.leads == 1 and jane.dnc and jane.status == "in_call"
