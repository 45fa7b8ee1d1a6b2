"""One pocketsphinx utterance decoded while it is spoken (:meth:`PocketSphinxSTT.begin`).

The same searches as for a whole segment, fed part by part, so that when the lead stops only the
last part and the end of the search are left. Without decoders of its own (no cepstral mean yet,
or none spare) the utterance is kept whole and decoded at its end, as
:meth:`PocketSphinxSTT.transcribe` does; see :mod:`reauto.stt.pocketsphinx` for why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pocketsphinx

from reauto.stt.base import Transcript, Utterance
from reauto.stt.sphinx_domain import DomainModel

if TYPE_CHECKING:
    from reauto.stt.pocketsphinx import PocketSphinxSTT

#: Shorter audio (10 ms) is not decoded: pocketsphinx needs at least a frame.
MIN_BYTES = 320
#: Quieter audio is silence: pocketsphinx turns digital silence into a confident "i'm".
SILENCE_DBFS = -60.0
#: Speech an utterance decoded whole needs for its cepstral mean to start live decoding (a short
#: "hello?" gives a poor one). 0.3 s, so that the first answer after a "hello?" decodes live too,
#: was measured and not kept: on 120 generated calls (``scripts/bench/stt_live.py``) it moved WER
#: 55.4% → 57.4%, and in the voice-call tests the hello's mean made later answers misheard ("this
#: is Jane" as "this is jamie") and an interruption's words missed (2 failures in 8 runs).
LINE_STATE_SPEECH_S = 1.0
#: Level of a 10 ms frame counted as speech when trimming (a phone line's noise is below it).
SPEECH_DBFS = -50.0
#: Quiet audio kept on each side of the speech when trimming.
TRIM_MARGIN_S = 0.2
#: Decoded before each utterance (0.1 s of low noise, 10 ms): see :func:`start_utterance`.
FLUSH = np.random.default_rng(0).normal(0, 300, 1600).astype(np.int16).tobytes()


@dataclass(frozen=True)
class Decoders:
    """The decoders of one utterance's searches: the general one, and the campaign model's of the
    question being answered (with the model, for rescoring), if there is a campaign model."""

    general: pocketsphinx.Decoder
    domain: pocketsphinx.Decoder | None = None
    model: DomainModel | None = None

    def all(self) -> tuple[pocketsphinx.Decoder, ...]:
        return (self.general,) if self.domain is None else (self.general, self.domain)


def start_utterance(decoder: pocketsphinx.Decoder, cmn: str | None = None) -> None:
    """Start an utterance as any other starts, so that its transcript depends on its audio and ``cmn``
    only: new feature extraction (the noise removal's estimate starts from the utterance's first frames),
    and the acoustic scorer's lists as :data:`FLUSH` leaves them (decoded live: whole, it breaks a live
    search). Before, the noise estimate went on from one utterance to the next."""
    decoder.reinit_feat()
    decoder.start_utt()
    decoder.process_raw(FLUSH, full_utt=False)
    decoder.end_utt()
    decoder.reinit_feat()
    if cmn is not None:
        decoder.set_cmn(cmn)
    decoder.start_utt()


def silent(energy: float, n: int) -> bool:
    """Whether ``n`` samples whose squares sum to ``energy`` are too short or too quiet to decode."""
    rms = math.sqrt(energy / n) if n else 0.0
    return n * 2 < MIN_BYTES or rms <= 0 or 20 * math.log10(rms / 32768) < SILENCE_DBFS


class LiveUtterance(Utterance):
    """One utterance fed to its decoders' searches as it is spoken."""

    def __init__(self, owner: PocketSphinxSTT, decoders: Decoders | None, cmn: str | None,
                 context: str | None, generation: int) -> None:
        self._owner = owner
        self._generation = generation
        self._decoders = decoders
        self._context = context
        self._open = True
        self._energy = 0.0  # sum of squared samples, for the silence test at the end
        self._bytes = 0
        self._odd = b""  # a byte left over from a part of odd length
        self._audio = bytearray()  # kept only when decoded whole
        self.line_state = cmn
        self.whole = decoders is None
        for decoder in decoders.all() if decoders is not None else ():
            start_utterance(decoder, cmn)

    def feed(self, pcm: bytes) -> None:
        if not self._open:
            raise RuntimeError("this utterance has ended")
        pcm = self._odd + pcm
        pcm, self._odd = pcm[: len(pcm) - len(pcm) % 2], pcm[len(pcm) - len(pcm) % 2 :]
        if not pcm:
            return
        samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
        self._energy += float(np.dot(samples, samples))
        self._bytes += len(pcm)
        if self._decoders is None:
            self._audio += pcm
            return
        for decoder in self._decoders.all():
            decoder.process_raw(pcm, full_utt=False)

    def end(self) -> Transcript:
        if not self._open:
            raise RuntimeError("this utterance has ended")
        decoders = self._close()
        owner = self._owner
        audio_s = self._bytes // 2 / owner.sample_rate
        try:
            if silent(self._energy, self._bytes // 2):
                return Transcript("", 0.0, audio_s)
            if decoders is not None:
                general = owner.best_path(decoders.general)
                domain = owner.best_path(decoders.domain) if decoders.domain is not None else None
                return owner.locked(lambda: owner.transcript(general, domain, decoders.model, audio_s))
            # decoded whole: without the silent ends, whose frames would weigh on the line's mean
            kept, speech_s, offset_s = trimmed(bytes(self._audio))
            self._audio = bytearray()
            heard, cmn = owner.locked(lambda: owner.transcribe_measured(kept, self._context))
            if speech_s >= LINE_STATE_SPEECH_S and cmn:
                self.line_state = cmn  # starts the call's next utterances
            words = tuple((w, start + offset_s, stop + offset_s, p) for w, start, stop, p in heard.words)
            return Transcript(heard.text, heard.confidence, audio_s, words)
        finally:
            if decoders is not None:
                owner.release(decoders, self._generation)

    def cancel(self) -> None:
        if self._open:
            decoders = self._close()
            self._audio = bytearray()
            if decoders is not None:
                self._owner.release(decoders, self._generation)

    def _close(self) -> Decoders | None:
        self._open = False
        decoders, self._decoders = self._decoders, None
        for decoder in decoders.all() if decoders is not None else ():
            decoder.end_utt()
        return decoders


def trimmed(pcm: bytes, rate: int = 16_000) -> tuple[bytes, float, float]:
    """``pcm`` without its quiet ends (but :data:`TRIM_MARGIN_S` of them), the seconds of speech
    in it, and where what is kept starts. Silence counts in a segment's cepstral mean: a second of
    a silent line before a short answer makes the mean useless for the call's next utterances."""
    step = rate // 100
    samples = np.frombuffer(pcm[: len(pcm) // (2 * step) * 2 * step], dtype=np.int16).astype(np.float64)
    if not samples.size:
        return pcm, 0.0, 0.0
    levels = np.sqrt(np.mean(samples.reshape(-1, step) ** 2, axis=1))
    loud = np.flatnonzero(levels >= 32768 * 10 ** (SPEECH_DBFS / 20))
    if not loud.size:
        return pcm, 0.0, 0.0
    margin = round(TRIM_MARGIN_S * 100)
    first, last = max(0, int(loud[0]) - margin), int(loud[-1]) + 1 + margin
    return pcm[first * step * 2 : last * step * 2], loud.size / 100, first / 100
