"""Log lines without personal data: phone numbers masked, SQL parameters and row details dropped.

reauto's own messages name calls and leads by id, but text from elsewhere reaches the logs too:
an exception's message (SQLAlchemy appends ``[parameters: …]`` with every value of the failed
statement, PostgreSQL a ``DETAIL:`` line with the conflicting key), a URL path a client chose, a
library's warning. :class:`RedactingFilter` rewrites every record a handler emits — the message,
its arguments and the formatted traceback — so none of that leaves the process.
"""

from __future__ import annotations

import logging
import re
import traceback

#: An E.164 number (``+15125550123``, ``+442079460958``).
_E164 = re.compile(r"(?<![\w+])\+[1-9]\d{7,14}(?!\d)")
#: A North American number as people write it: ``(512) 555-0123``, ``512.555.0123``, ``1-512-555-0123``,
#: ``512/555/0123``, ``5125550123``. The area code and exchange start with 2-9, so epoch seconds
#: (``17…``) are left alone.
_NANP = re.compile(r"(?<![\w+])(?:1[\s./-]?)?\(?[2-9]\d{2}\)?[\s./-]?[2-9]\d{2}[\s./-]?\d{4}(?!\d)")
#: SQLAlchemy's rendering of a failed statement's values (one line, however long).
_PARAMETERS = re.compile(r"\[parameters: [^\n]*")
#: PostgreSQL's detail line names the values of the row that failed (``Key (phone_e164)=(…)``).
_DETAIL = re.compile(r"^DETAIL: [^\n]*", re.MULTILINE)


def redact(text: str) -> str:
    """``text`` with phone numbers masked (``+1512•••0123``, ``•••0123``) and SQL values removed."""
    text = _PARAMETERS.sub("[parameters hidden]", text)
    text = _DETAIL.sub("DETAIL: (hidden)", text)
    text = _E164.sub(lambda m: f"{m[0][:5]}•••{m[0][-4:]}", text)
    return _NANP.sub(lambda m: f"•••{re.sub(r'[^0-9]', '', m[0])[-4:]}", text)


class RedactingFilter(logging.Filter):
    """Rewrites each record it sees (attach it to a handler: it then covers every logger)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is still logged, as its template
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install(handler: logging.Handler) -> None:
    """Attach the filter to ``handler`` once."""
    if not any(isinstance(f, RedactingFilter) for f in handler.filters):
        handler.addFilter(RedactingFilter())
