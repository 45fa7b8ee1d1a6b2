"""Do-not-call lists: add, import, remove, check, and the leads they flag."""

from pathlib import Path

import pytest
from sqlalchemy import select

from reauto.errors import UsageError
from reauto.leads.dnc import add_number, check_number, import_file, remove_number
from reauto.leads.loader import load_leads
from reauto.store.models import DncEntry, DncSource, Lead

pytestmark = pytest.mark.integration
DATA = Path(__file__).parent / "data" / "leads"


@pytest.fixture(params=["pg", "sqlite"])
def engine(request):
    return request.getfixturevalue("pg_engine" if request.param == "pg" else "sqlite_engine")


async def lead_flags(engine, phone):
    async with engine.connect() as conn:
        return [(r.dnc, r.status) for r in (await conn.execute(
            select(Lead.dnc, Lead.status).where(Lead.phone_e164 == phone).order_by(Lead.id))).all()]


async def entries(engine):
    async with engine.connect() as conn:
        rows = (await conn.execute(select(DncEntry.__table__).order_by(DncEntry.id))).all()
    return [(e.phone_e164, DncSource(e.source).value, e.removed_at is not None) for e in rows]


async def test_add_flags_leads_in_every_campaign_and_remove_keeps_the_record(engine):
    await load_leads(engine, DATA / "messy.csv", "a")
    await load_leads(engine, DATA / "messy.csv", "b")
    change = await add_number(engine, "(512) 867-5309", reason="asked on call")
    assert (change.phone, change.changed, change.leads) == ("+15128675309", True, 2)
    assert await lead_flags(engine, "+15128675309") == [(True, "dnc"), (True, "dnc")]
    again = await add_number(engine, "+15128675309")
    assert (again.changed, again.leads) == (False, 0)

    status = await check_number(engine, "512.867.5309")
    assert not status.callable and status.active[0].reason == "asked on call"

    removed = await remove_number(engine, "512-867-5309")
    assert removed.leads == 2
    assert await lead_flags(engine, "+15128675309") == [(False, "new"), (False, "new")]
    assert await entries(engine) == [("+15128675309", "internal", True)]  # kept, stamped removed
    status = await check_number(engine, "+15128675309")
    assert status.callable and status.removed[0].removed_at is not None

    relisted = await add_number(engine, "+15128675309", reason="asked again")
    assert relisted.changed and relisted.leads == 2
    assert await entries(engine) == [("+15128675309", "internal", False)]


async def test_remove_refuses_national_and_unlisted_numbers(engine):
    await import_file(engine, DATA / "national_dnc.txt")
    with pytest.raises(UsageError, match="national registry"):
        await remove_number(engine, "5125550191")
    with pytest.raises(UsageError, match="not on the internal"):
        await remove_number(engine, "5125550100")
    await add_number(engine, "5125550191")
    await load_leads(engine, DATA / "messy.csv", "a")
    change = await remove_number(engine, "5125550191")
    assert change.leads == 0  # still on the national list: nothing unflagged
    assert not (await check_number(engine, "5125550191")).callable


async def test_import_plain_registry_file_reports_bad_lines(engine, tmp_path):
    seen = []
    report = await import_file(engine, DATA / "national_dnc.txt", batch_size=2,
                               on_progress=lambda p, r: seen.append(r.lines))
    assert (report.lines, report.added, report.already_listed, report.rejected) == (6, 3, 1, 2)
    assert [(i.line, i.value, i.reason) for i in report.issues] == [
        (5, "12345", "too short"), (7, "not a number", "contains letters")]
    assert report.batches == 2 and seen[-1] == 6
    assert sorted(p for p, _, _ in await entries(engine)) == ["+15125550191", "+15125550192", "+15125550193"]
    again = await import_file(engine, DATA / "national_dnc.txt")
    assert (again.added, again.already_listed) == (0, 4)
    assert report.summary()["rejects"][0]["line"] == 5


async def test_import_csv_with_area_code_columns_flags_leads(engine):
    await load_leads(engine, DATA / "broken.jsonl", "web")
    report = await import_file(engine, DATA / "national_dnc.csv")
    assert (report.added, report.rejected, report.leads_flagged) == (2, 1, 0)
    assert report.issues[0].line == 4
    await add_number(engine, "5125550171")
    assert await lead_flags(engine, "+15125550171") == [(True, "dnc")]


async def test_import_flags_existing_leads_and_relists_removed_internal_numbers(engine, tmp_path):
    await load_leads(engine, DATA / "messy.csv", "a")
    await add_number(engine, "+15125550188")
    await remove_number(engine, "+15125550188")
    internal = tmp_path / "internal.csv"
    internal.write_text("Name,Phone Number\nJohn,512.555.0188\nJane,(512) 867-5309\n,\n")
    report = await import_file(engine, internal, source=DncSource.INTERNAL, reason="CRM opt-outs")
    assert (report.added, report.leads_flagged) == (2, 2)
    assert await lead_flags(engine, "+15125550188") == [(True, "dnc")]
    status = await check_number(engine, "+15125550188")
    assert status.active[0].source == "internal"


async def test_import_errors(engine, tmp_path):
    no_phone = tmp_path / "x.csv"
    no_phone.write_text("Name,Email\nA,a@b.c\n")
    with pytest.raises(UsageError, match="no phone column"):
        await import_file(engine, no_phone)
    with pytest.raises(UsageError, match="no such file"):
        await import_file(engine, tmp_path / "none.txt")
    with pytest.raises(UsageError, match="batch size"):
        await import_file(engine, no_phone, batch_size=0)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    assert (await import_file(engine, empty)).lines == 0
    with pytest.raises(UsageError, match="not a valid phone number"):
        await add_number(engine, "call me")
