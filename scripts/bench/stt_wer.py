#!/usr/bin/env python3
"""Word error rate of the pocketsphinx provider on human and on domain speech.

Sets:

* human: the CMU Sphinx test recordings in ``shared/data/speech`` (librivox + cards, real
  people), at 16 kHz and through the 8 kHz μ-law phone round trip;
* domain: real-estate lead answers spoken by flite voices (rms, awb, kal16, slt in turn),
  resampled to 16 kHz and passed through the phone round trip, decoded plain and with the
  campaign vocabulary bias (:data:`CAMPAIGN_PHRASES`).

WER = word-level Levenshtein distance / reference words, pooled over a set. Both sides are
lower-cased, punctuation dropped and common contractions expanded ("we're" → "we are"), so a
recogniser is not charged for spelling one the other way.

With ``--live`` the domain set through the phone path is also decoded while spoken, as a call's
later answers are (:meth:`PocketSphinxSTT.begin`), each answer's search started from the cepstral
mean measured (decoded whole, as a call's first answer) on another answer of the same voice, or
of another voice: what a borrowed mean costs against decoding whole.

Usage:
    .venv/bin/python scripts/bench/stt_wer.py              # table
    .venv/bin/python scripts/bench/stt_wer.py --json -v    # JSON, plus every hypothesis on stderr
    .venv/bin/python scripts/bench/stt_wer.py --live       # also decoding while spoken

Needs the Debian package ``flite`` for the domain set.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from reauto.audio.codec import phone_round_trip, read_wav, to_internal  # noqa: E402
from reauto.stt.pocketsphinx import SEARCH, PocketSphinxSTT  # noqa: E402
from reauto.stt.wer import scoring_words, word_errors  # noqa: E402

SPEECH = Path(__file__).resolve().parents[3] / "shared" / "data" / "speech"
VOICES = ("rms", "awb", "kal16", "slt")
DOMAIN_SENTENCES = (
    "we're looking to buy in about three months",
    "our budget is around four hundred thousand",
    "yes we are pre approved",
    "we want to sell our house in austin",
    "probably next spring",
    "do not call me again",
    "are you a robot",
    "maybe in six months or so",
    "we have a mortgage pre approval for three hundred fifty thousand",
    "i am not interested right now",
    "we are looking for a three bedroom house",
    "somewhere in dallas or houston",
    "we need to move before september",
    "my budget is five hundred thousand dollars",
    "we are just renting right now",
    "i would like to talk to an agent",
    "can you call me back tomorrow afternoon",
    "we already sold our home",
    "yes that works for me",
    "no we are paying cash",
    "we are thinking about a condo downtown",
    "the house has four bedrooms and two baths",
    "we want to list it in march",
    "within the next year",
    "how did you get my number",
    "tuesday at two o'clock is fine",
    "we are first time buyers",
    "our lender is still working on it",
    "i am waiting on the bank",
    "please take me off your list",
)
#: What a Texas buyer/seller campaign would declare as its vocabulary.
CAMPAIGN_PHRASES = (
    "Austin", "Dallas", "Houston", "San Antonio", "pre-approved", "pre-approval", "mortgage",
    "lender", "condo", "$400k", "three months", "next spring", "bedrooms",
)
Item = tuple[str, bytes, str]  # (id, 16 kHz PCM16, reference text)
def human_set() -> list[Item]:
    """(id, 16 kHz PCM, reference) for every transcribed human recording."""
    items = []
    for folder in ("librivox", "cards"):
        for line in (SPEECH / folder / "transcription").read_text().splitlines():
            match = re.match(r"<s>(.*)</s>\s*\((.+)\)", line.strip())
            if match:
                file = SPEECH / folder / f"{match.group(2).split('-')[-1]}.wav"
                items.append((f"{folder}/{file.stem}", read_wav(file).pcm, match.group(1).strip()))
    return items


def domain_set(workdir: Path) -> list[Item]:
    """(id, 16 kHz PCM, reference) for the domain sentences spoken by flite voices."""
    if shutil.which("flite") is None:
        raise SystemExit("flite not found: apt-get install flite (needed for the domain set)")
    items = []
    for i, text in enumerate(DOMAIN_SENTENCES):
        voice = VOICES[i % len(VOICES)]
        wav = workdir / f"{i:02d}-{voice}.wav"
        subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(wav)], check=True)
        audio = read_wav(wav)
        items.append((f"{voice}:{i:02d}", to_internal(audio.pcm, audio.rate), text))
    return items


async def measure(
    stt: PocketSphinxSTT, items: list[Item], *, phone: bool, verbose: bool
) -> dict[str, float]:
    """Pooled WER of ``stt`` on ``items`` (through the phone round trip when ``phone``)."""
    errors = total = 0
    started = time.perf_counter()
    for item_id, pcm, reference in items:
        result = await stt.transcribe(phone_round_trip(pcm) if phone else pcm)
        ref, hyp = scoring_words(reference), scoring_words(result.text)
        errors, total = errors + word_errors(ref, hyp), total + len(ref)
        if verbose:
            print(f"{item_id:22} {' '.join(ref)!r}\n{'':22} {' '.join(hyp)!r}", file=sys.stderr)
    return {"wer": errors / total, "errors": errors, "words": total, "utterances": len(items),
            "seconds": round(time.perf_counter() - started, 2)}


def _segment(pcm: bytes) -> bytes:
    """An answer as the STT service cuts it: 0.8 s of the line before it, 0.2 s after."""
    return b"\x00\x00" * 12_800 + pcm + b"\x00\x00" * 3_200


async def measure_live(stt: PocketSphinxSTT, items: list[Item], *, voice: str, verbose: bool) -> dict[str, float]:
    """Pooled WER of ``items`` through the phone path, decoded while spoken from the cepstral mean
    of another item of the ``same`` or an ``other`` voice."""
    phone = [(item_id, _segment(phone_round_trip(pcm)), reference) for item_id, pcm, reference in items]
    means = {}
    for item_id, pcm, _ in phone:  # each answer decoded whole, as a call's first one: its mean
        utterance = stt.begin(None)
        utterance.feed(pcm)
        utterance.end()
        means[item_id] = utterance.line_state
    errors = total = 0
    started = time.perf_counter()
    for item_id, pcm, reference in phone:
        same = item_id.split(":")[0]
        state = next(m for other, m in means.items()
                     if m and other != item_id and (other.split(":")[0] == same) == (voice == "same"))
        while stt.prepare(1):  # a decoder of its own, as a call's worker keeps ready
            pass
        utterance = stt.begin(state)
        for i in range(0, len(pcm), 3200):  # 100 ms at a time, as the STT service feeds it
            utterance.feed(pcm[i : i + 3200])
        ref, hyp = scoring_words(reference), scoring_words(utterance.end().text)
        errors, total = errors + word_errors(ref, hyp), total + len(ref)
        if verbose:
            print(f"{item_id:22} {' '.join(ref)!r}\n{'':22} {' '.join(hyp)!r}", file=sys.stderr)
    return {"wer": errors / total, "errors": errors, "words": total, "utterances": len(items),
            "seconds": round(time.perf_counter() - started, 2)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("-v", "--verbose", action="store_true", help="hypotheses on stderr")
    parser.add_argument("--live", action="store_true", help="also decode the domain set while spoken")
    parser.add_argument("--max-hmms", type=int, default=SEARCH["maxhmmpf"],
                        help="the search's most active HMMs per frame ([stt] max_hmms)")
    args = parser.parse_args()
    search = {**SEARCH, "maxhmmpf": args.max_hmms}
    plain, biased = PocketSphinxSTT(search=search), PocketSphinxSTT(search=search)
    biased.set_vocabulary(CAMPAIGN_PHRASES)
    await asyncio.gather(plain.start(), biased.start())
    human = human_set()
    with tempfile.TemporaryDirectory() as tmp:
        domain = domain_set(Path(tmp))
    rows = {
        "human 16k plain": await measure(plain, human, phone=False, verbose=args.verbose),
        "human 16k biased": await measure(biased, human, phone=False, verbose=args.verbose),
        "human mu-law plain": await measure(plain, human, phone=True, verbose=args.verbose),
        "human mu-law biased": await measure(biased, human, phone=True, verbose=args.verbose),
        "domain 16k plain": await measure(plain, domain, phone=False, verbose=args.verbose),
        "domain 16k biased": await measure(biased, domain, phone=False, verbose=args.verbose),
        "domain mu-law plain": await measure(plain, domain, phone=True, verbose=args.verbose),
        "domain mu-law biased": await measure(biased, domain, phone=True, verbose=args.verbose),
    }
    if args.live:
        segments = [(i, _segment(p), t) for i, p, t in domain]
        rows["domain mu-law biased, whole segment"] = await measure(biased, segments, phone=True, verbose=args.verbose)
        for voice in ("same", "other"):
            rows[f"domain mu-law biased, live, {voice} voice's mean"] = await measure_live(
                biased, domain, voice=voice, verbose=args.verbose)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    width = max(len(name) for name in rows)
    print(f"{'set':{width}} {'WER':>7} {'errors':>7} {'words':>6} {'utts':>5} {'seconds':>8}")
    for name, row in rows.items():
        print(f"{name:{width}} {row['wer']:7.1%} {row['errors']:7d} {row['words']:6d} "
              f"{row['utterances']:5d} {row['seconds']:8.2f}")


if __name__ == "__main__":
    asyncio.run(main())
