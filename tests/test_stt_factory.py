"""create_stt: the configured provider, and the fallback when it cannot load or fails."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest

from reauto.config import SttSettings
from reauto.providers import ProviderUnavailable
from reauto.stt import REGISTRY
from reauto.stt.base import STTProvider, Transcript
from reauto.stt.factory import FallbackSTT, create_stt
from reauto.stt.pocketsphinx import PocketSphinxSTT
from reauto.stt.whisper import FasterWhisperSTT

pytestmark = pytest.mark.unit


class FakeSTT(STTProvider):
    """A provider double: fails where told to, records what it was given."""

    name = "fake"

    def __init__(self, text: str = "", *, fail_start: bool = False, fail_transcribe: bool = False):
        self.text, self.fail_start, self.fail_transcribe = text, fail_start, fail_transcribe
        self.started = self.closed = 0
        self.vocabulary: Sequence[str] = ()

    async def start(self) -> None:
        self.started += 1
        if self.fail_start:
            raise ProviderUnavailable("no model")

    def set_vocabulary(self, phrases: Sequence[str]) -> None:
        self.vocabulary = phrases

    async def transcribe(self, pcm: bytes, *, context: str | None = None) -> Transcript:
        if self.fail_transcribe:
            raise RuntimeError("CUDA out of memory")
        return Transcript(self.text, 0.9, len(pcm) / 32_000)

    async def close(self) -> None:
        self.closed += 1


def test_default_is_plain_pocketsphinx() -> None:
    stt = create_stt(SttSettings())
    assert isinstance(stt, PocketSphinxSTT) and stt._bias is True
    unbiased = create_stt(SttSettings(vocabulary_bias=False))
    assert isinstance(unbiased, PocketSphinxSTT) and unbiased._bias is False


def test_whisper_gets_the_pocketsphinx_fallback() -> None:
    stt = create_stt(SttSettings(provider="faster-whisper", faster_whisper={"model": "/m"}))
    assert isinstance(stt, FallbackSTT)
    assert isinstance(stt.primary, FasterWhisperSTT) and isinstance(stt.fallback, PocketSphinxSTT)


def test_without_fallback_the_main_provider_stands_alone() -> None:
    stt = create_stt(SttSettings(provider="faster-whisper", fallback="none"))
    assert isinstance(stt, FasterWhisperSTT)


def test_unimportable_provider_falls_back_or_raises(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real_load = REGISTRY.load

    def load(name: str) -> type[STTProvider]:
        if name == "faster-whisper":
            raise ProviderUnavailable("STT provider 'faster-whisper' cannot be imported")
        return real_load(name)

    monkeypatch.setattr(REGISTRY, "load", load)
    with caplog.at_level(logging.WARNING, logger="reauto.stt.factory"):
        stt = create_stt(SttSettings(provider="faster-whisper"))
    assert isinstance(stt, PocketSphinxSTT)
    assert "faster-whisper unavailable" in caplog.text
    assert "using fallback pocketsphinx" in caplog.text
    with pytest.raises(ProviderUnavailable, match="cannot be imported"):
        create_stt(SttSettings(provider="faster-whisper", fallback="none"))


def test_build_by_name() -> None:
    assert isinstance(REGISTRY.create("pocketsphinx", SttSettings()), PocketSphinxSTT)
    with pytest.raises(ProviderUnavailable, match="unknown STT provider 'vosk'"):
        REGISTRY.create("vosk", SttSettings())


async def test_fallback_takes_over_when_the_main_provider_cannot_load(
    caplog: pytest.LogCaptureFixture,
) -> None:
    primary, fallback = FakeSTT("main", fail_start=True), FakeSTT("backup")
    stt = FallbackSTT(primary, fallback)
    stt.set_vocabulary(["Austin"])
    with caplog.at_level(logging.WARNING, logger="reauto.stt.factory"):
        await stt.start()
    assert "STT fake failed (no model)" in caplog.text
    assert stt.active is fallback and fallback.started == 1
    assert primary.vocabulary == fallback.vocabulary == ["Austin"]
    assert (await stt.transcribe(b"\x00" * 320)).text == "backup"
    await stt.close()
    assert primary.closed == fallback.closed == 1


async def test_fallback_takes_over_when_the_main_provider_fails_mid_call() -> None:
    primary, fallback = FakeSTT("main"), FakeSTT("backup")
    stt = FallbackSTT(primary, fallback)
    await stt.start()
    assert (await stt.transcribe(b"")).text == "main" and fallback.started == 0
    primary.fail_transcribe = True
    assert (await stt.transcribe(b"")).text == "backup"
    assert (await stt.transcribe(b"")).text == "backup" and fallback.started == 1
