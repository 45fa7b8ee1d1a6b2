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
search below, every utterance started afresh (:func:`_start_utterance`):

* domain, phone path (8 kHz μ-law): 24.5 % → 14.4 %
* domain, 16 kHz: 6.4 % → 8.0 % (three words)
* human read speech, 16 kHz: 21.7 % → 21.7 %; phone path: 38.0 % → 38.0 %

General speech is untouched because a domain path only wins where it also fits the audio.

The search is pocketsphinx's first pass only (``fwdflat`` off: the lattice for the best path and
the posteriors comes from the tree search), with at most 3,000 active HMMs per frame
(``maxhmmpf``; 2,500 since the turn at 12 calls on two cores needed the CPU: ``[stt] max_hmms``). On the same sets through the phone path this decodes 2.2× faster (domain
22.8 s → 10.2 s, human 12.9 s → 5.8 s for the whole set) at the same or lower WER (domain
14.4 % → 13.8 %, human 32.6 % → 32.6 %; clean 16 kHz: domain 6.9 % → 8.0 %, human 22.8 % →
21.7 %), and a lead's answer is heard in about a third of a second instead of two thirds.
The alternatives pocketsphinx offers did worse: the domain model alone turns general speech
into domain words (WER > 100 % on the human set through the phone path), and a JSGF grammar
or keyword spotting cannot transcribe anything outside their lists. The second pass adds
10–30 % to decoding time.

The campaign model is the one of the question being answered (:mod:`reauto.stt.sphinx_domain`):
the voice pipeline passes what the agent just asked as ``context`` (``budget_usd`` after "What
budget do you have in mind?"), and that question's answers in reauto's corpus, with what a lead
may say at any point and the campaign's own words, make its model; anything else is heard with
the model of the whole corpus. The campaign search runs on a decoder of its own whose dictionary
holds only the model's words (:meth:`PocketSphinxSTT._load_domain`): it loads in about 10 ms, where adding
the same search to a decoder with the whole 134,000-word dictionary takes pocketsphinx 2 s,
holding the GIL. The search is the same (it only ever considers words its language model
knows); the smaller lexicon tree prunes a little differently under the HMM cap, which on the
WER set above changed five answers' hypotheses and one word fewer wrong (13.8 % → 13.3 %).

Confidence is the mean posterior probability of the recognised words (pocketsphinx's
lattice posteriors, already 0..1); an empty transcript has confidence 0.

:meth:`PocketSphinxSTT.begin` decodes an utterance while it is spoken (an :class:`Utterance`,
driven by a worker process of :mod:`reauto.stt.pool`): the same searches, fed part by part, so
that when the lead stops only the last part and the end of the search are left (about 20 ms
instead of a few hundred). The acoustic model needs the line's cepstral mean, which a whole
segment gives at its end (batch CMN) but a live search must know from the start; pocketsphinx's
live estimate starts from a fixed guess and converges too slowly for a phone answer ("in about
three months" came out "you know about it"), and a mean borrowed from another call costs a lot
on lines unlike it (WER 55.4% → 66.9% on varied generated calls, ``scripts/bench/stt_live.py``).
So a call's first utterances are decoded whole until one has held
:data:`~reauto.stt.sphinx_live.LINE_STATE_SPEECH_S` of speech, and the mean it measured (the
utterance's ``line_state``) starts each of the call's later utterances, which then decode live. Both searches run live, each on a decoder
of the utterance's own (about 90 MB for the general one, kept for the next utterance,
:data:`SPARE_DECODERS` at most).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import re
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pocketsphinx

from reauto.audio.codec import rms_dbfs
from reauto.providers import ProviderUnavailable
from reauto.stt.base import STTProvider, Transcript, Utterance
from reauto.stt.sphinx_domain import DomainModel, DomainModels
from reauto.stt.sphinx_live import MIN_BYTES, SILENCE_DBFS, Decoders, LiveUtterance, start_utterance
from reauto.stt.vocabulary import Vocabulary

if TYPE_CHECKING:
    from reauto.config import SttSettings

log = logging.getLogger(__name__)

#: Weight of the campaign model in the interpolation (chosen on the WER benchmark).
DOMAIN_WEIGHT = 0.1
#: Search settings (chosen on the WER benchmark: faster at the same WER on phone audio); ``[stt]
#: max_hmms`` sets the cap (2,500 by default: see :class:`reauto.config.SttSettings`).
SEARCH = {"fwdflat": False, "maxhmmpf": 2500}
#: The search for audio heard again after a call (no time pressure): the tree search with wider
#: beams and no cap on active HMMs, then the second flat-lexicon pass (about 3× the time).
THOROUGH = {"fwdflat": True, "maxhmmpf": -1, "beam": 1e-60, "wbeam": 1e-40, "pbeam": 1e-60, "lpbeam": 1e-50}
#: General decoders kept for later utterances once theirs ended (each holds the models: about 90 MB).
SPARE_DECODERS = 8
#: Other readings kept per search from pocketsphinx's n-best list (a few ms to read from the lattice).
NBEST = 6
_FILLER = re.compile(r"^(<.*>|\[.*\])$")
_ALT_PRON = re.compile(r"\(\d+\)$")


@dataclass(frozen=True)
class _Path:
    """One decoded best path: the words with frames and posteriors, and its acoustic score."""

    words: tuple[tuple[str, int, int, float], ...]
    acoustic: int  # log-domain (pocketsphinx logmath units), whole utterance incl. silences
    alternatives: tuple[str, ...] = ()  # the search's next best readings (n-best), best first

    @property
    def text(self) -> str:
        return " ".join(w for w, _, _, _ in self.words)


class PocketSphinxSTT(STTProvider):
    """Speech to text with pocketsphinx and its bundled US English model.

    Args:
        model_dir: acoustic model folder; default: the ``en-us`` model inside the package.
        vocabulary_bias: when False, :meth:`set_vocabulary` is ignored.
        domain_weight: λ, the campaign model's share in the interpolated language model.
        noise_removal: pocketsphinx's spectral noise removal (on in the model's own settings). Off
            by default: its estimate starts from each utterance's first frames, which for an
            answer that starts at once is speech. Measured with ``scripts/bench/stt_wer.py``
            through the phone path: real human speech 38.0 % → 30.4 %, lead answers (biased)
            12.2 % → 14.9 %; the generated development set of noisy lines (``make_eval_set.py
            --mild``, 120 calls) 55.5 % → 55.0 %.
        search: pocketsphinx search settings; default :data:`SEARCH` (live), :data:`THOROUGH`
            for audio heard again after a call.
    """

    name = "pocketsphinx"

    def __init__(
        self,
        *,
        model_dir: Path | str | None = None,
        vocabulary_bias: bool = True,
        domain_weight: float = DOMAIN_WEIGHT,
        noise_removal: bool = False,
        search: Mapping[str, object] | None = None,
    ) -> None:
        if not 0 < domain_weight < 1:
            raise ValueError(f"domain_weight must be between 0 and 1, not {domain_weight}")
        self._model_root = Path(model_dir) if model_dir else Path(pocketsphinx.get_model_path())
        self._bias = vocabulary_bias
        self._weight = domain_weight
        self._noise_removal = noise_removal
        self._search = dict(SEARCH if search is None else search)
        self._lock = threading.Lock()
        self._decoder: pocketsphinx.Decoder | None = None
        self._general: pocketsphinx.NGramModel | None = None
        self._domains: DomainModels | None = None  # the campaign's models, one per question
        self._pending: Vocabulary | None = None
        self._vocabulary: Vocabulary | None = None  # the one applied
        self._generation = 0  # counts vocabularies applied: a decoder built for an older one is dropped
        self._spare: list[pocketsphinx.Decoder] = []  # general decoders for utterances decoded while spoken

    @classmethod
    def from_settings(cls, settings: SttSettings) -> PocketSphinxSTT:
        """The provider as ``[stt]`` settings configure it."""
        return cls(vocabulary_bias=settings.vocabulary_bias, domain_weight=settings.domain_weight,
                   noise_removal=settings.noise_removal, search={**SEARCH, "maxhmmpf": settings.max_hmms})

    async def start(self) -> None:
        """Load the acoustic model, dictionary and general language model (about a second)."""
        await asyncio.to_thread(self._locked, self._ensure_loaded)

    def set_vocabulary(self, phrases: Sequence[str]) -> None:
        """Bias recognition toward ``phrases`` and reauto's corpus of lead answers; applied before
        the next utterance is decoded. An empty sequence removes the bias."""
        if not self._bias:
            log.debug("pocketsphinx: vocabulary bias is off (stt.vocabulary_bias)")
            return
        with self._lock:
            self._pending = Vocabulary.from_phrases(phrases)

    async def transcribe(self, pcm: bytes, *, context: str | None = None) -> Transcript:
        """Transcribe one utterance of 16 kHz PCM16 mono audio (in a worker thread), heard as an
        answer to the question ``context`` names."""
        return await asyncio.to_thread(self._locked, lambda: self._transcribe(pcm, context))

    async def close(self) -> None:
        """Drop the decoder and its models."""
        with self._lock:
            self._decoder = self._general = self._domains = None
            self._spare.clear()

    @property
    def _domain_decoder(self) -> pocketsphinx.Decoder | None:
        """A decoder of the campaign's model for any moment (None without a vocabulary)."""
        if self._domains is None:
            return None
        model = self._domains.model(None)
        return model.spare[0] if model.spare else None

    def begin(self, line_state: str | None = None, context: str | None = None) -> Utterance:
        """Decode an utterance while it is spoken, in the calling thread (a worker process:
        decoding holds the GIL), from the cepstral mean in ``line_state``, heard as an answer to
        ``context``. Takes a spare general decoder (:meth:`prepare` loads them) and one of the
        context's campaign model; without a mean, or without a spare, the utterance is kept whole
        and decoded at its end, as :meth:`transcribe` does."""
        with self._lock:
            self._ensure_loaded()
            live = line_state is not None and bool(self._spare)
            decoders = None
            if live:
                general = self._spare.pop()
                domain, model = self._domains.take(context) if self._domains is not None else (None, None)
                decoders = Decoders(general, domain, model)
            generation = self._generation
        return LiveUtterance(self, decoders, line_state if live else None, context, generation)

    def release(self, decoders: Decoders, generation: int) -> None:
        """An utterance's decoders, free again (dropped when the vocabulary changed meanwhile)."""
        with self._lock:
            # not closed meanwhile, nor given another vocabulary
            if self._decoder is None or generation != self._generation:
                return
            if len(self._spare) < SPARE_DECODERS:
                self._spare.append(decoders.general)
            if self._domains is not None and decoders.domain is not None and decoders.model is not None:
                self._domains.give(decoders.model, decoders.domain)

    def prepare(self, streams: int) -> bool:
        """One step toward decoding ``streams`` utterances at once while they are spoken (a worker
        process calls it while idle): build the next question's campaign model, or load one more
        general decoder (0.35 s, outside the lock); False once every model and decoder is ready."""
        with self._lock:
            self._ensure_loaded()
            if self._domains is not None and (missing := self._domains.missing()):
                self._domains.model(missing[0])
                return True
            if len(self._spare) >= min(SPARE_DECODERS, streams):
                return False
            generation, vocabulary = self._generation, self._vocabulary
        general = self._load()
        for word in vocabulary.words if vocabulary is not None else ():
            self._add_pronunciation(general, word)
        with self._lock:
            if self._decoder is not None and generation == self._generation:
                self._spare.append(general)
        return True

    def locked(self, work):  # type: ignore[no-untyped-def]
        """``work()`` under the provider's lock."""
        with self._lock:
            return work()

    _locked = locked

    def _ensure_loaded(self) -> pocketsphinx.Decoder:
        if self._decoder is None:
            self._decoder = self._load()
            self._general = self._decoder.get_lm()
        if self._pending is not None:
            vocabulary, self._pending = self._pending, None
            self._apply(vocabulary)
        return self._decoder

    def _load(self, lm: str | None = None, dictionary: str | None = None) -> pocketsphinx.Decoder:
        """A decoder with the acoustic model and, by default, the general model and dictionary."""
        hmm = self._model_root / "en-us" / "en-us"
        files = {
            "hmm": hmm,
            "lm": Path(lm) if lm else self._model_root / "en-us" / "en-us.lm.bin",
            "dict": Path(dictionary) if dictionary else self._model_root / "en-us" / "cmudict-en-us.dict",
        }
        for key, path in files.items():
            if not path.exists():
                raise ProviderUnavailable(
                    f"pocketsphinx model file missing: {path} ({key}); reinstall pocketsphinx "
                    "(pip install --force-reinstall pocketsphinx)"
                )
        try:
            decoder = pocketsphinx.Decoder(hmm=str(hmm), lm=str(files["lm"]), dict=str(files["dict"]),
                                           loglevel="FATAL", **self._search)
            decoder.config["remove_noise"] = self._noise_removal  # over the model's feat.params
        except (RuntimeError, ValueError) as exc:
            raise ProviderUnavailable(f"pocketsphinx cannot load {self._model_root}: {exc}") from exc
        return decoder

    def _apply(self, vocabulary: Vocabulary) -> None:
        decoder = self._decoder
        assert decoder is not None
        self._vocabulary = vocabulary
        self._generation += 1
        self._spare.clear()  # built for the previous vocabulary
        self._domains = None
        if not vocabulary.phrases:
            return
        unknown = [w for w in vocabulary.words if not self._add_pronunciation(decoder, w)]
        if unknown:
            log.warning("pocketsphinx: no pronunciation for %s; these words stay unrecognised",
                        ", ".join(unknown))
        self._domains = DomainModels(vocabulary, lambda words: self._dictionary(decoder, words), self._load_domain)
        self._domains.model(None)
        log.info("pocketsphinx: vocabulary bias on (%d campaign phrases and the corpus of lead answers)",
                 len(vocabulary.phrases))

    @staticmethod
    def _dictionary(decoder: pocketsphinx.Decoder, words: Sequence[str]) -> str:
        """The lines of ``decoder``'s dictionary for ``words``, alternative pronunciations too."""
        lines = []
        for word in words:
            variant, n = word, 1
            while phones := decoder.lookup_word(variant):
                lines.append(f"{variant} {phones}\n")
                n += 1
                variant = f"{word}({n})"
        return "".join(lines)

    def _load_domain(self, files: tuple[str, str]) -> pocketsphinx.Decoder:
        """A decoder whose search is a campaign model, over a dictionary of its words only."""
        arpa, dictionary = files
        names = []
        try:
            for suffix, text in ((".arpa", arpa), (".dict", dictionary)):
                fd, name = tempfile.mkstemp(suffix=suffix, prefix="reauto-domain-")
                names.append(name)
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    out.write(text)
            return self._load(lm=names[0], dictionary=names[1])
        finally:
            for name in names:
                os.unlink(name)

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

    def _transcribe(self, pcm: bytes, context: str | None = None) -> Transcript:
        pcm = pcm[: len(pcm) - len(pcm) % 2]
        audio_s = len(pcm) / 2 / self.sample_rate
        if len(pcm) < MIN_BYTES or rms_dbfs(pcm) < SILENCE_DBFS:
            return Transcript("", 0.0, audio_s)
        decoder = self._ensure_loaded()
        general = self._decode(decoder, pcm)
        if self._domains is None:
            return self.transcript(general, None, None, audio_s)
        domain_decoder, model = self._domains.take(context)
        try:
            domain = self._decode(domain_decoder, pcm)
        finally:
            self._domains.give(model, domain_decoder)
        return self.transcript(general, domain, model, audio_s)

    def transcribe_measured(self, pcm: bytes, context: str | None = None) -> tuple[Transcript, str | None]:
        """:meth:`_transcribe` (under the lock), and the cepstral mean the whole segment was decoded with."""
        transcript = self._transcribe(pcm, context)
        return transcript, self._decoder.get_cmn(False) if self._decoder is not None and transcript.text else None

    def transcript(self, general: _Path, domain: _Path | None, model: DomainModel | None,
                   audio_s: float) -> Transcript:
        """The better of the two searches' paths (see the module doc), as a transcript."""
        best, other = general, domain
        # (no campaign model left when the vocabulary was removed while the utterance was spoken)
        rival = domain is not None and domain.words and model is not None and self._domains is not None
        if rival and self._score(domain, model) > self._score(general, model):  # type: ignore[arg-type]
            best, other = domain, general  # type: ignore[assignment]
        assert self._decoder is not None
        frate = int(self._decoder.config["frate"])
        words = tuple((w, s / frate, (e + 1) / frate, p) for w, s, e, p in best.words)
        confidence = sum(p for *_, p in best.words) / len(words) if words else 0.0
        others = [*best.alternatives, *((other.text, *other.alternatives) if other is not None else ())]
        alternatives = tuple(a for a in dict.fromkeys(others) if a and a != best.text)[:2 * NBEST]
        return Transcript(best.text, confidence, audio_s, words, alternatives)

    @staticmethod
    def _decode(decoder: pocketsphinx.Decoder, pcm: bytes) -> _Path:
        start_utterance(decoder)
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        return PocketSphinxSTT.best_path(decoder)

    @staticmethod
    def best_path(decoder: pocketsphinx.Decoder) -> _Path:
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
        return _Path(tuple(words), acoustic, _nbest(decoder))

    _path = best_path

    def _score(self, path: _Path, model: DomainModel) -> float:
        """Acoustic score plus the interpolated language-model score (see the module doc)."""
        decoder = self._decoder
        assert decoder is not None and self._general is not None
        math = decoder.logmath
        config = decoder.config
        log_general, log_domain = math.log(1 - self._weight), math.log(self._weight)
        tokens = ["<s>", *(w for w, *_ in path.words), "</s>"]
        lm = 0
        for i in range(1, len(tokens)):
            ngram = [tokens[i], *reversed(tokens[max(0, i - 2) : i])]
            lm += math.add(self._general.prob(ngram) + log_general, model.lm.prob(ngram) + log_domain)
        wip = math.log(float(config["wip"]))
        return path.acoustic + float(config["bestpathlw"]) * lm + (len(tokens) - 2) * wip


def _nbest(decoder: pocketsphinx.Decoder) -> tuple[str, ...]:
    """The next best readings of the utterance ``decoder`` just ended (fillers dropped, best first)."""
    out: list[str] = []
    try:
        for hyp in itertools.islice(decoder.nbest(), NBEST + 2):
            if hyp is None:
                break
            text = " ".join(_ALT_PRON.sub("", w) for w in hyp.hypstr.split() if not _FILLER.match(w))
            if text and text not in out:
                out.append(text)
    except (RuntimeError, AttributeError):  # no lattice for this utterance
        return ()
    return tuple(out[1:NBEST + 1]) if out else ()
