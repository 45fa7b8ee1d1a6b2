"""Database and Redis URLs shown without their password.

Written on ``re`` rather than SQLAlchemy's ``make_url``: importing SQLAlchemy costs a command
about 0.2 s of CPU, and ``reauto config show`` needs nothing else from it. The pattern is
SQLAlchemy's own URL grammar (``scheme://user:password@host…``), so the result is the same.
"""

from __future__ import annotations

import re

_URL = re.compile(r"^(?P<head>[\w+.-]+://)(?:(?P<user>[^:/@]*)(?P<password>:[^@]*)?@)?(?P<rest>.*)$", re.S)


def redact(url: object) -> str:
    """The URL with ``***`` for its password, for logs, errors and ``config show``."""
    match = _URL.match(str(url))
    if match is None:
        return "<unparseable url>"
    if not match["password"]:
        return str(url)
    return f"{match['head']}{match['user']}:***@{match['rest']}"
