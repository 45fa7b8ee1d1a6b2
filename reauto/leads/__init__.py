"""Leads: import (CSV/JSONL, column mapping, normalisation, dedupe), do-not-call lists, queries.

Modules: :mod:`normalize` (phones, states, time zones), :mod:`readers` (files with line
numbers), :mod:`mapping` (CRM columns → lead fields), :mod:`build` (one record → one lead row),
:mod:`bulk` (batched inserts), :mod:`loader` (the load), :mod:`dnc` (DNC lists) and
:mod:`queries` (list, show, stats).
"""
