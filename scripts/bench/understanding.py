#!/usr/bin/env python3
"""How well the rules understand leads, on the domain corpus (text only, no audio).

Every corpus entry (``reauto.corpus``) is read as the scripted agent reads a lead's answer to its
question: :func:`reauto.agent.extract.extract` with the slot asked, and for booking answers
:func:`reauto.agent.when.answer.read_preference` against the two demo offers. The report gives, per
context and split: the share of entries whose asked slot was read right, spurious slots, the
binding intents (opt-out, refusal, objection, questions) read exactly, and opt-out recall and
false opt-outs per split. For booking answers it also counts wrong bookings: answers that accept
no offer (a refusal, a hedge, a condition, a time of their own) read as accepting one, and answers
the booking negotiation (:class:`reauto.agent.booking.Negotiation` over the two demo offers) would
book on an offer the lead did not accept. Tune on ``train``; ``dev`` is worded by other people and
says how the rules do on wording they were not written from. ``test`` is read only when asked for:
wording nobody tuned on, the honest figure to report. Its misses are never printed, since reading
them is the first step to tuning on them.

Usage:
    .venv/bin/python scripts/bench/understanding.py                 # train and dev, a table
    .venv/bin/python scripts/bench/understanding.py --split dev --misses 20 --context any
    .venv/bin/python scripts/bench/understanding.py --split test    # the held-out figure
    .venv/bin/python scripts/bench/understanding.py --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from reauto.agent.booking import FixedOffers, Negotiation
from reauto.agent.extract import APPOINTMENT, extract
from reauto.agent.when.answer import read_preference
from reauto.corpus import CONTEXTS, SPLITS, TODAY, Entry, entries
from reauto.eval.scoring import slot_matches

#: Intents that change the call's course (affirm/deny are judged only where they answer).
BINDING = frozenset({"dnc", "recording_objection", "not_interested", "callback_request", "human_request",
                     "robot_question", "wrong_number", "repeat_request"})
SLOTS = ("intent", "timeline_months", "budget_usd", "preapproved", "financing")
#: The demo campaign's questions (the corpus answers them).
QUESTIONS = {"intent": "Are you looking to buy a home, or to sell one?",
             "timeline_months": "And when are you hoping to make your move?",
             "budget_usd": "What budget do you have in mind?",
             "preapproved": "Are you already pre-approved for a mortgage?"}
ZONE = ZoneInfo("America/Chicago")
#: The split nobody tunes on: reported only when asked for, its misses never shown.
HELD_OUT = "test"
#: A Thursday: the offers ("Tuesday", "Wednesday") fall in the next week, never "tomorrow".
NOW = datetime.combine(TODAY + timedelta(days=3), time(11, 0), ZONE)


def _offers() -> list[datetime]:
    """The demo campaign's two offers ("Tuesday at 10 AM", "Wednesday at 2 PM") after :data:`NOW`."""
    def next_day(weekday: int, hour: int) -> datetime:
        ahead = (weekday - NOW.weekday()) % 7 or 7
        return datetime.combine(NOW.date() + timedelta(days=ahead), time(hour), ZONE)
    return [next_day(1, 10), next_day(2, 14)]


OFFERS = _offers()
#: The demo offers as the agent says them, in the order of :data:`OFFERS`.
SPOKEN = ("Tuesday at 10 AM", "Wednesday at 2 PM")
#: The offers each label accepts (by their place in :data:`OFFERS`).
ACCEPTED = {"first": {0}, "second": {1}, "either": {0, 1}, "none": set()}


class DemoOffers(FixedOffers):
    """The demo campaign's fixed offers, at :data:`OFFERS` and :data:`NOW` in the bench's zone."""

    def when(self, spoken: str) -> datetime | None:
        return OFFERS[SPOKEN.index(spoken)] if spoken in SPOKEN else None

    def now(self) -> datetime:
        return NOW


def booked_offer(text: str) -> int | None:
    """The demo offer the booking negotiation books after ``text`` (its place), or None."""
    async def run() -> int | None:
        talk = Negotiation(DemoOffers(list(SPOKEN), NOW.date()))
        await talk.open()
        step = await talk.answer(text)
        return SPOKEN.index(step.booked) if step.outcome == "booked" and step.booked in SPOKEN else None
    return asyncio.run(run())


def _label(value: Any) -> Any:
    if isinstance(value, Mapping):
        low, high = value.get("low"), value.get("high")
        if low is not None and high is not None:
            return (low + high) / 2
        return low if low is not None else high
    return value


def judge(entry: Entry) -> dict[str, Any]:
    """What the rules read in one entry, and whether it is what a correct listener reads."""
    asked = entry.context if entry.context in SLOTS else None
    reading = APPOINTMENT if entry.context == "booking" else asked  # as the agent reads offered times
    found = extract(entry.text, expecting=reading, today=TODAY, question=QUESTIONS.get(entry.context))
    expect = entry.expect
    want_intents = set(expect.get("intents", ())) & BINDING
    got_intents = found.intents & BINDING
    out: dict[str, Any] = {"text": entry.text, "context": entry.context, "split": entry.split,
                           "intents_ok": want_intents == got_intents, "want_intents": sorted(want_intents),
                           "got_intents": sorted(got_intents), "dnc_want": "dnc" in want_intents,
                           "dnc_got": "dnc" in got_intents}
    slots = {k: v.value for k, v in found.slots.items()}
    if asked is not None:
        label = expect.get(asked)
        got = slots.get(asked)
        if hasattr(got, "low"):
            got = {"low": got.low, "high": got.high}
        if label is None:
            # a cash buyer counts as pre-approved; a seller or renter as not: neither is an error
            moot = asked == "preapproved" and (expect.get("financing") == "cash" or expect.get("intent") in
                                               ("sell", "rent") or re.search(r"\b(sell|selling|rent|renting)\b",
                                                                             entry.text))
            out["slot_ok"] = got is None or bool(moot)
        else:
            out["slot_ok"] = slot_matches(asked, _label(label), got)
        out["want"], out["got"] = label, got
    out["spurious"] = sorted(s for s in SLOTS if s in slots and s != asked and expect.get(s) is None
                             and s not in ("financing",))
    if entry.context == "identity" and {"affirm", "deny"} & set(expect.get("intents", ())):
        want = "affirm" if "affirm" in expect["intents"] else "deny"
        out["stance_ok"] = want in found.intents and ({"affirm", "deny"} - {want}).isdisjoint(found.intents)
    if entry.context == "booking":
        pref = read_preference(entry.text, offers=OFFERS, now=NOW)
        want_accept = (expect.get("booking") or {}).get("accept")
        got_accept = pref.accept if pref.accept is not None else "none"
        out["accept_ok"] = want_accept is None or want_accept == got_accept
        out["want_accept"], out["got_accept"] = want_accept, got_accept
        if want_accept is not None:
            accepted = ACCEPTED[want_accept]
            booked = booked_offer(entry.text)
            read_yes = want_accept == "none" and got_accept != "none"
            out["wrong_booking"] = read_yes or (booked is not None and booked not in accepted)
            out["booked"] = None if booked is None else SPOKEN[booked]
    return out


def report(split: str | None, context: str | None) -> dict[str, Any]:
    """The table, opt-out figures and judged rows of one split (None: every split but the held-out
    one) and one context (None: all)."""
    chosen = {split} if split is not None else set(SPLITS) - {HELD_OUT}
    rows = [judge(e) for e in entries(context) if e.split in chosen]
    table: dict[str, dict[str, Any]] = {}
    by: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by[(r["context"], r["split"])].append(r)
    for (ctx, sp), rs in sorted(by.items(), key=lambda kv: (CONTEXTS.index(kv[0][0]), kv[0][1])):
        row: dict[str, Any] = {"entries": len(rs), "intents": _share(rs, "intents_ok")}
        for key, name in (("slot_ok", "slot"), ("stance_ok", "yes/no"), ("accept_ok", "accept")):
            if any(key in r for r in rs):
                row[name] = _share(rs, key)
        row["spurious"] = sum(bool(r["spurious"]) for r in rs)
        if any("wrong_booking" in r for r in rs):
            row["wrong bk"] = sum(bool(r.get("wrong_booking")) for r in rs)
        table[f"{ctx}/{sp}"] = row
    dnc = Counter((r["split"], r["dnc_want"], r["dnc_got"]) for r in rows)
    splits = sorted({r["split"] for r in rows})
    optout = {sp: {"recall": _ratio(dnc[(sp, True, True)], dnc[(sp, True, True)] + dnc[(sp, True, False)]),
                   "opt_outs": dnc[(sp, True, True)] + dnc[(sp, True, False)],
                   "false_opt_outs": dnc[(sp, False, True)]} for sp in splits}
    return {"table": table, "opt_out": optout, "rows": rows}


def _share(rows: list[dict[str, Any]], key: str) -> float | None:
    judged = [r[key] for r in rows if key in r]
    return round(sum(judged) / len(judged), 3) if judged else None


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 3) if b else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=SPLITS, help="one split (default: every split but test)")
    parser.add_argument("--context", choices=CONTEXTS)
    parser.add_argument("--misses", type=int, default=0, help="print this many misses per context")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.misses and args.split == HELD_OUT:
        parser.error(f"--misses is not shown for the {HELD_OUT} split: nobody tunes on it")
    result = report(args.split, args.context)
    if args.json:
        print(json.dumps({k: v for k, v in result.items() if k != "rows"}, indent=2))
        return
    cols = ("entries", "slot", "yes/no", "accept", "intents", "spurious", "wrong bk")
    print(f"{'context/split':24}" + "".join(f"{c:>10}" for c in cols))
    for name, row in result["table"].items():
        cells = [row.get(c) for c in cols]
        print(f"{name:24}" + "".join(f"{'' if v is None else (f'{v:.1%}' if isinstance(v, float) else v):>10}"
                                     for v in cells))
    for sp, o in result["opt_out"].items():
        if o['recall'] is not None:
            print(f"opt-outs {sp}: recall {o['recall']:.1%} of {o['opt_outs']}, false opt-outs {o['false_opt_outs']}")
    if args.misses:
        shown: Counter[str] = Counter()
        for r in result["rows"]:
            bad = [k for k in ("slot_ok", "stance_ok", "accept_ok", "intents_ok") if r.get(k) is False]
            bad += ["WRONG BOOKING"] if r.get("wrong_booking") else []
            if (bad or r["spurious"]) and shown[r["context"]] < args.misses:
                shown[r["context"]] += 1
                extra = {k: r[k] for k in ("want", "got", "want_intents", "got_intents", "want_accept", "got_accept",
                                            "booked", "spurious") if k in r and r[k] not in (None, [], ())}
                print(f"[{r['context']}/{r['split']}] {r['text']!r} {bad} {extra}")


if __name__ == "__main__":
    main()
