"""Log lines without phone numbers or SQL values, and the run-wide check that keeps them so."""

import logging
import sys

import pytest

from reauto.cli.context import configure_logging
from reauto.logfilter import RedactingFilter, redact

from .conftest import LEAKS, PhoneLeaks

pytestmark = pytest.mark.unit

SQL_ERROR = ("(psycopg.errors.UniqueViolation) duplicate key value violates unique constraint\n"
             "DETAIL:  Key (campaign_id, phone_e164)=(1, +15125550123) already exists.\n"
             "[SQL: INSERT INTO leads (first_name, phone_e164) VALUES (%(first_name)s, %(phone_e164)s)]\n"
             "[parameters: {'first_name': 'Jane', 'phone_e164': '+15125550123', 'notes': 'call (512) 555-0199'}]\n"
             "(Background on this error at: https://sqlalche.me/e/20/gkpj)")


def test_numbers_are_masked_and_sql_values_dropped():
    assert redact("calling +15125550123 and +442079460958") == "calling +1512•••0123 and +4420•••0958"
    assert redact("at (512) 555-0123, 512.555.0124, 1-512-555-0125, 512/555/0126 or 5125550127") == \
        "at •••0123, •••0124, •••0125, •••0126 or •••0127"
    assert redact("call 42 at 1764086400 took 5125 ms, sid CA5125550123abcdef") == \
        "call 42 at 1764086400 took 5125 ms, sid CA5125550123abcdef"
    text = redact(SQL_ERROR)
    assert "Jane" not in text and "555" not in text and "[parameters hidden]" in text and "[SQL: INSERT" in text
    assert "DETAIL: (hidden)" in redact("x\nDETAIL: Key (phone_e164)=(+15125550123) already exists.")


def test_the_filter_rewrites_messages_arguments_and_tracebacks():
    try:
        raise RuntimeError(SQL_ERROR)
    except RuntimeError:
        record = logging.LogRecord("reauto.x", logging.ERROR, __file__, 1, "lead %s: %s failed", ("Jane?", "+15125550123"),
                                   sys.exc_info())
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "lead Jane?: +1512•••0123 failed"
    assert "Traceback" in record.exc_text and "+15125550123" not in record.exc_text and "Jane" not in record.exc_text
    formatted = logging.Formatter("%(message)s").format(record)
    assert "5550123" not in formatted and "RuntimeError" in formatted


def test_the_console_script_filters_every_root_handler():
    root = logging.getLogger()
    handler = logging.StreamHandler()
    root.addHandler(handler)
    level = logging.getLogger("reauto").level
    try:
        configure_logging("INFO")
        assert any(isinstance(f, RedactingFilter) for f in handler.filters)
        configure_logging("INFO")
        assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1
    finally:
        root.removeHandler(handler)
        logging.getLogger("reauto").setLevel(level)


def test_the_run_wide_check_finds_what_the_filter_misses():
    check = PhoneLeaks([])
    check.numbers = {"5125550123"}
    check.emit(logging.makeLogRecord({"name": "reauto.x", "msg": "calling %s", "args": ("(512) 555-0123",)}))
    assert check.leaks == []  # masked as reauto's handler writes it
    check.emit(logging.makeLogRecord({"name": "lib", "msg": "to 5 1 2 5 5 5 0 1 2 3 now"}))
    check.scan("Traceback …\n  lead +1 (214) 555-0100 …", "stderr of reauto serve")
    check.scan("took 1764086400 s; call 2147483648; 2026-11-25 15:02; at 1764555012345 ms", "stderr")
    check.scan("lead 3105559876 answered", "stderr of a dialer")  # a generated number of the 555 exchange
    assert [leak.split(":")[0] for leak in check.leaks] == ["log lib", "stderr of reauto serve", "stderr of a dialer"]
    assert "5125550123" in LEAKS.numbers and "442079460958" in LEAKS.numbers  # from the tests' data
    assert LEAKS in logging.getLogger().handlers
