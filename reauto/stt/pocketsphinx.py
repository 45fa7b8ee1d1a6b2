"""PocketSphinx: the embedded recogniser, with the en-us model shipped inside the package.

One :class:`pocketsphinx.Decoder` per provider, guarded by a lock (a decoder is not
thread-safe); decoding runs in a worker thread so the event loop never waits on it.

Campaign vocabulary (:meth:`PocketSphinxSTT.set_vocabulary`) is applied as a second language
model, not as a replacement: pocketsphinx 5 cannot interpolate two n-gram models inside its
search (an ``-lmctl`` set only switches between them), so each utterance is decoded twice, once
with the general en-us model and once with a small trigram model trained on the campaign's
domain corpus (:mod:`reauto.stt.vocabulary`), and the two best paths are rescored with the
interpolated model::

    score(h) = acoustic(h) + bestpathlw · Σ log(λ·P_domain(w|ctx) + (1−λ)·P_general(w|ctx))
               + n_words · log(wip)

The higher score wins. Words of the campaign that are missing from the dictionary get a
pronunciation joined from two dictionary words ("preapproved" = "pre" + "approved"), never
from a download. Measured with ``scripts/bench/stt_wer.py`` (λ = 0.1; 30 lead answers by
four flite voices, 188 words; 10 human recordings, 92 words), WER plain → biased, with the
search below:

* domain, phone path (8 kHz μ-law): 23.4 % → 13.8 %
* domain, 16 kHz: 6.9 % → 8.0 % (two words)
* human read speech, 16 kHz: 21.7 % → 21.7 %; phone path: 32.6 % → 32.6 %

General speech is untouched because a domain path only wins where it also fits the audio.

The search is pocketsphinx's first pass only (``fwdflat`` off: the lattice for the best path and
the posteriors comes from the tree search), with at most 3,000 active HMMs per frame
(``maxhmmpf``). On the same sets through the phone path this decodes 2.2× faster (domain
22.8 s → 10.2 s, human 12.9 s → 5.8 s for the whole set) at the same or lower WER (domain
14.4 % → 13.8 %, human 32.6 % → 32.6 %; clean 16 kHz: domain 6.9 % → 8.0 %, human 22.8 % →
21.7 %), and a lead's answer is heard in about a third of a second instead of two thirds.
The alternatives pocketsphinx offers did worse: the domain model alone turns general speech
into domain words (WER > 100 % on the human set through the phone path), and a JSGF grammar
or keyword spotting cannot transcribe anything outside their lists. The second pass adds
10–30 % to decoding time; building the campaign model takes about a second, once, in
``start`` (or before the first utterance after :meth:`PocketSphinxSTT.set_vocabulary`).

Confidence is the mean posterior probability of the recognised words (pocketsphinx's
lattice posteriors, already 0..1); an empty transcript has confidence 0.

:meth:`PocketSphinxSTT.begin` decodes an utterance while it is spoken (an :class:`Utterance`,
driven by a worker process of :mod:`reauto.stt.pool`): the same searches, fed part by part, so
that when the lead stops only the last part and the end of the search are left (about 20 ms
instead of a few hundred). The acoustic model needs the line's cepstral mean, which a whole
segment gives at its end (batch CMN) but a live search must know from the start; pocketsphinx's
live estimate starts from a fixed guess and converges too slowly for a phone answer ("in about
three months" came out "you know about it"). So a call's first utterance is decoded whole, and
the mean it measured (the utterance's ``line_state``) starts each of the call's later utterances,
which then decode live with the same result as whole. Only the general search runs live, on a
decoder of the utterance's own (about 90 MB, kept for the next utterance, :data:`SPARE_DECODERS`
at most); with a campaign vocabulary its search runs at the end on the main decoder, as for a
whole segment (setting that search up on another decoder takes pocketsphinx 3 s).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import re
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pocketsphinx

from reauto.providers import ProviderUnavailable
from reauto.stt.base import STTProvider, Transcript, Utterance
from reauto.stt.vocabulary import Vocabulary, domain_arpa
from reauto.voice.audio import rms_dbfs

if TYPE_CHECKING:
    from reauto.config import SttSettings

log = logging.getLogger(__name__)

GENERAL = "_default"  # the search pocketsphinx builds from its ``lm`` setting
DOMAIN = "domain"
#: Weight of the campaign model in the interpolation (chosen on the WER benchmark).
DOMAIN_WEIGHT = 0.1
#: Search settings (chosen on the WER benchmark: faster at the same WER on phone audio).
SEARCH = {"fwdflat": False, "maxhmmpf": 3000}
#: Shorter audio (10 ms) is not decoded: pocketsphinx needs at least a frame.
MIN_BYTES = 320
#: Quieter audio is silence: pocketsphinx turns digital silence into a confident "i'm".
SILENCE_DBFS = -60.0
#: Speech an utterance decoded whole needs for its cepstral mean to start live decoding (a short
#: "hello?" gives a poor one).
LINE_STATE_SPEECH_S = 1.0
#: Level of a 10 ms frame counted as speech when trimming (a phone line's noise is below it).
SPEECH_DBFS = -50.0
#: Quiet audio kept on each side of the speech when trimming.
TRIM_MARGIN_S = 0.2
#: Decoders kept for later utterances once theirs ended (each holds the models: about 90 MB).
SPARE_DECODERS = 8
_FILLER = re.compile(r"^(<.*>|\[.*\])$")
_ALT_PRON = re.compile(r"\(\d+\)$")


@dataclass(frozen=True)
class _Path:
    """One decoded best path: the words with frames and posteriors, and its acoustic score."""

    words: tuple[tuple[str, int, int, float], ...]
    acoustic: int  # log-domain (pocketsphinx logmath units), whole utterance incl. silences

    @property
    def text(self) -> str:
        return " ".join(w for w, _, _, _ in self.words)


class PocketSphinxSTT(STTProvider):
    """Speech to text with pocketsphinx and its bundled US English model.

    Args:
        model_dir: acoustic model folder; default: the ``en-us`` model inside the package.
        vocabulary_bias: when False, :meth:`set_vocabulary` is ignored.
        domain_weight: λ, the campaign model's share in the interpolated language model.
    """

    name = "pocketsphinx"

    def __init__(
        self,
        *,
        model_dir: Path | str | None = None,
        vocabulary_bias: bool = True,
        domain_weight: float = DOMAIN_WEIGHT,
    ) -> None:
        if not 0 < domain_weight < 1:
            raise ValueError(f"domain_weight must be between 0 and 1, not {domain_weight}")
        self._model_root = Path(model_dir) if model_dir else Path(pocketsphinx.get_model_path())
        self._bias = vocabulary_bias
        self._weight = domain_weight
        self._lock = threading.Lock()
        self._decoder: pocketsphinx.Decoder | None = None
        self._general: pocketsphinx.NGramModel | None = None
        self._domain: pocketsphinx.NGramModel | None = None
        self._pending: Vocabulary | None = None
        self._vocabulary: Vocabulary | None = None  # the one applied
        self._generation = 0  # counts vocabularies applied: a decoder built for an older one is dropped
        self._spare: list[pocketsphinx.Decoder] = []  # for utterances decoded while spoken

    @classmethod
    def from_settings(cls, settings: SttSettings) -> PocketSphinxSTT:
        """The provider as ``[stt]`` settings configure it."""
        return cls(vocabulary_bias=settings.vocabulary_bias)

    async def start(self) -> None:
        """Load the acoustic model, dictionary and general language model (about a second)."""
        await asyncio.to_thread(self._locked, self._ensure_loaded)

    def set_vocabulary(self, phrases: Sequence[str]) -> None:
        """Bias recognition toward ``phrases``; applied before the next utterance is decoded.

        An empty sequence removes the bias.
        """
        if not self._bias:
            log.debug("pocketsphinx: vocabulary bias is off (stt.vocabulary_bias)")
            return
        with self._lock:
            self._pending = Vocabulary.from_phrases(phrases)

    async def transcribe(self, pcm: bytes) -> Transcript:
        """Transcribe one utterance of 16 kHz PCM16 mono audio (in a worker thread)."""
        return await asyncio.to_thread(self._locked, lambda: self._transcribe(pcm))

    async def close(self) -> None:
        """Drop the decoder and its models."""
        with self._lock:
            self._decoder = self._general = self._domain = None
            self._spare.clear()

    def begin(self, line_state: str | None = None) -> Utterance:
        """Decode an utterance while it is spoken, in the calling thread (a worker process:
        decoding holds the GIL), from the cepstral mean in ``line_state``. Takes a spare decoder
        per search (:meth:`prepare` loads them); without a mean, or without spare decoders, the
        utterance is kept whole and decoded at its end, as :meth:`transcribe` does."""
        with self._lock:
            self._ensure_loaded()
            live = line_state is not None and bool(self._spare)
            decoder = self._spare.pop() if live else None
            generation = self._generation
        return _Utterance(self, decoder, line_state if live else None, generation)

    def _release(self, decoders: list[pocketsphinx.Decoder], generation: int) -> None:
        with self._lock:
            # not closed meanwhile, nor given another vocabulary
            if self._decoder is not None and generation == self._generation:
                self._spare.extend(decoders[: max(0, SPARE_DECODERS - len(self._spare))])

    def prepare(self, streams: int) -> bool:
        """Load one more spare decoder while fewer than ``streams`` utterances' worth are ready
        (a worker process calls it while idle); False once they are."""
        with self._lock:
            self._ensure_loaded()
            if len(self._spare) >= min(SPARE_DECODERS, streams):
                return False
            generation = self._generation
        self._release([self._new_decoder()], generation)
        return True

    def _new_decoder(self) -> pocketsphinx.Decoder:
        """A decoder for the general search, with the campaign's words in its dictionary (the
        campaign's search is not added: pocketsphinx takes 3 s to set one up, holding the GIL,
        which would stall the process's other utterances)."""
        decoder = self._load()
        with self._lock:
            vocabulary = self._vocabulary
        for word in vocabulary.words if vocabulary is not None else ():
            self._add_pronunciation(decoder, word)
        return decoder

    def _locked(self, work):  # type: ignore[no-untyped-def]
        with self._lock:
            return work()

    def _ensure_loaded(self) -> pocketsphinx.Decoder:
        if self._decoder is None:
            self._decoder = self._load()
            self._general = self._decoder.get_lm()
        if self._pending is not None:
            vocabulary, self._pending = self._pending, None
            self._apply(vocabulary)
        return self._decoder

    def _load(self) -> pocketsphinx.Decoder:
        hmm = self._model_root / "en-us" / "en-us"
        files = {
            "hmm": hmm,
            "lm": self._model_root / "en-us" / "en-us.lm.bin",
            "dict": self._model_root / "en-us" / "cmudict-en-us.dict",
        }
        for key, path in files.items():
            if not path.exists():
                raise ProviderUnavailable(
                    f"pocketsphinx model file missing: {path} ({key}); reinstall pocketsphinx "
                    "(pip install --force-reinstall pocketsphinx)"
                )
        try:
            decoder = pocketsphinx.Decoder(
                hmm=str(hmm), lm=str(files["lm"]), dict=str(files["dict"]), loglevel="FATAL", **SEARCH
            )
        except (RuntimeError, ValueError) as exc:
            raise ProviderUnavailable(
                f"pocketsphinx cannot load {self._model_root}: {exc}"
            ) from exc
        return decoder

    def _apply(self, vocabulary: Vocabulary) -> None:
        decoder = self._decoder
        assert decoder is not None
        self._vocabulary = vocabulary
        self._generation += 1
        self._spare.clear()  # built for the previous vocabulary
        if not vocabulary.phrases:
            self._domain = None
            return
        self._domain = self._add_domain(decoder, vocabulary)
        log.info("pocketsphinx: vocabulary bias on (%d campaign phrases)", len(vocabulary.phrases))

    def _add_domain(self, decoder: pocketsphinx.Decoder, vocabulary: Vocabulary) -> pocketsphinx.NGramModel:
        """Add the campaign's words and its language model (search :data:`DOMAIN`) to ``decoder``."""
        unknown = [w for w in vocabulary.words if not self._add_pronunciation(decoder, w)]
        if unknown and decoder is self._decoder:
            log.warning("pocketsphinx: no pronunciation for %s; these words stay unrecognised",
                        ", ".join(unknown))
        fd, name = tempfile.mkstemp(suffix=".arpa", prefix="reauto-domain-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(domain_arpa(vocabulary.sentences()))
            domain = pocketsphinx.NGramModel(decoder.config, decoder.logmath, name)
        finally:
            os.unlink(name)
        decoder.add_lm(DOMAIN, domain)
        return domain

    @staticmethod
    def _add_pronunciation(decoder: pocketsphinx.Decoder, word: str) -> bool:
        """Make sure ``word`` is in the dictionary; join two known words' phones when it is not."""
        if decoder.lookup_word(word):
            return True
        for cut in range(len(word) - 2, 1, -1):
            head, tail = decoder.lookup_word(word[:cut]), decoder.lookup_word(word[cut:])
            if head and tail:
                decoder.add_word(word, f"{head} {tail}", True)
                return True
        return False

    def _transcribe(self, pcm: bytes) -> Transcript:
        pcm = pcm[: len(pcm) - len(pcm) % 2]
        audio_s = len(pcm) / 2 / self.sample_rate
        if len(pcm) < MIN_BYTES or rms_dbfs(pcm) < SILENCE_DBFS:
            return Transcript("", 0.0, audio_s)
        decoder = self._ensure_loaded()
        general = self._decode(decoder, pcm, GENERAL)
        domain = self._decode(decoder, pcm, DOMAIN) if self._domain is not None else None
        return self._transcript(general, domain, audio_s)

    def _transcribe_measured(self, pcm: bytes) -> tuple[Transcript, str | None]:
        """:meth:`_transcribe`, and the cepstral mean the whole segment was decoded with."""
        transcript = self._transcribe(pcm)
        return transcript, self._decoder.get_cmn(False) if self._decoder is not None and transcript.text else None

    def _transcript(self, general: _Path, domain: _Path | None, audio_s: float) -> Transcript:
        """The better of the two searches' paths (see the module doc), as a transcript."""
        best = general
        if domain is not None and domain.words and self._score(domain) > self._score(general):
            best = domain
        assert self._decoder is not None
        frate = int(self._decoder.config["frate"])
        words = tuple((w, s / frate, (e + 1) / frate, p) for w, s, e, p in best.words)
        confidence = sum(p for *_, p in best.words) / len(words) if words else 0.0
        return Transcript(best.text, confidence, audio_s, words)

    @staticmethod
    def _decode(decoder: pocketsphinx.Decoder, pcm: bytes, search: str) -> _Path:
        decoder.activate_search(search)
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        return PocketSphinxSTT._path(decoder)

    @staticmethod
    def _path(decoder: pocketsphinx.Decoder) -> _Path:
        """The best path of the utterance ``decoder`` just ended."""
        if decoder.hyp() is None:
            return _Path((), 0)
        words, acoustic = [], 0
        for seg in decoder.seg():
            # The binding returns scores as probabilities; back to log units to add them.
            acoustic += decoder.logmath.log(seg.ascore)
            if not _FILLER.match(seg.word):
                word = _ALT_PRON.sub("", seg.word)
                words.append((word, seg.start_frame, seg.end_frame, min(1.0, max(0.0, seg.prob))))
        return _Path(tuple(words), acoustic)

    def _score(self, path: _Path) -> float:
        """Acoustic score plus the interpolated language-model score (see the module doc)."""
        decoder = self._decoder
        assert decoder is not None and self._general is not None and self._domain is not None
        math = decoder.logmath
        config = decoder.config
        log_general, log_domain = math.log(1 - self._weight), math.log(self._weight)
        tokens = ["<s>", *(w for w, *_ in path.words), "</s>"]
        lm = 0
        for i in range(1, len(tokens)):
            ngram = [tokens[i], *reversed(tokens[max(0, i - 2) : i])]
            lm += math.add(self._general.prob(ngram) + log_general,
                           self._domain.prob(ngram) + log_domain)
        wip = math.log(float(config["wip"]))
        return path.acoustic + float(config["bestpathlw"]) * lm + (len(tokens) - 2) * wip


class _Utterance(Utterance):
    """One utterance fed to a spare decoder's general search as it is spoken
    (:meth:`PocketSphinxSTT.begin`), and kept whole: the campaign's search runs on it at its end
    with the main decoder. Without a decoder of its own (no cepstral mean yet, or none spare) the
    utterance is decoded whole at its end, as :meth:`PocketSphinxSTT.transcribe` does."""

    def __init__(self, owner: PocketSphinxSTT, decoder: pocketsphinx.Decoder | None, cmn: str | None,
                 generation: int) -> None:
        self._owner = owner
        self._generation = generation
        self._decoder = decoder
        self._open = True
        self._energy = 0.0  # sum of squared samples, for the silence test at the end
        self._odd = b""  # a byte left over from a part of odd length
        self._audio = bytearray()
        self.line_state = cmn
        if decoder is not None:
            decoder.activate_search(GENERAL)
            decoder.set_cmn(cmn)
            decoder.start_utt()

    def feed(self, pcm: bytes) -> None:
        if not self._open:
            raise RuntimeError("this utterance has ended")
        pcm = self._odd + pcm
        pcm, self._odd = pcm[: len(pcm) - len(pcm) % 2], pcm[len(pcm) - len(pcm) % 2 :]
        if not pcm:
            return
        samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
        self._energy += float(np.dot(samples, samples))
        self._audio += pcm
        if self._decoder is not None:
            self._decoder.process_raw(pcm, full_utt=False)

    def end(self) -> Transcript:
        if not self._open:
            raise RuntimeError("this utterance has ended")
        decoder = self._close()
        owner, audio = self._owner, bytes(self._audio)
        n = len(audio) // 2
        audio_s = n / owner.sample_rate
        rms = math.sqrt(self._energy / n) if n else 0.0
        try:
            if len(audio) < MIN_BYTES or rms <= 0 or 20 * math.log10(rms / 32768) < SILENCE_DBFS:
                return Transcript("", 0.0, audio_s)
            if decoder is not None:
                general = PocketSphinxSTT._path(decoder)
                domain = owner._locked(lambda: owner._decode(owner._ensure_loaded(), audio, DOMAIN)
                                       if owner._domain is not None else None)
                return owner._transcript(general, domain, audio_s)
            # decoded whole: without the silent ends, whose frames would weigh on the line's mean
            kept, speech_s, offset_s = _trimmed(audio)
            heard, cmn = owner._locked(lambda: owner._transcribe_measured(kept))
            if speech_s >= LINE_STATE_SPEECH_S and cmn:
                self.line_state = cmn  # starts the call's next utterances
            words = tuple((w, start + offset_s, stop + offset_s, p) for w, start, stop, p in heard.words)
            return Transcript(heard.text, heard.confidence, audio_s, words)
        finally:
            if decoder is not None:
                owner._release([decoder], self._generation)

    def cancel(self) -> None:
        if self._open:
            decoder = self._close()
            if decoder is not None:
                self._owner._release([decoder], self._generation)

    def _close(self) -> pocketsphinx.Decoder | None:
        self._open = False
        decoder, self._decoder = self._decoder, None
        if decoder is not None:
            decoder.end_utt()
        return decoder


def _trimmed(pcm: bytes, rate: int = 16_000) -> tuple[bytes, float, float]:
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
