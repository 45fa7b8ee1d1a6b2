"""faster-whisper provider with a stand-in model: loader errors, confidence, segment handling.

faster-whisper is an extra and no model may be downloaded in tests, so ``FakeWhisperModel``
speaks the library's interface (``WhisperModel(path, device=, compute_type=, device_index=,
local_files_only=)``, ``transcribe(audio, **options) -> (segments, info)``).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from reauto.config import SttSettings
from reauto.providers import ProviderUnavailable
from reauto.stt.whisper import FasterWhisperSTT, combine, segment_confidence

pytestmark = pytest.mark.unit


@dataclass
class Segment:
    text: str
    avg_logprob: float
    no_speech_prob: float


class FakeWhisperModel:
    """Records how it was built and called; answers with fixed segments."""

    instances: list[FakeWhisperModel] = []

    def __init__(self, path: str, **options: Any) -> None:
        self.path, self.options, self.calls = path, options, []
        self.segments = [
            Segment(" We're pre-approved,", -0.1, 0.02), Segment(" for $400k.", -0.5, 0.1)
        ]
        FakeWhisperModel.instances.append(self)

    def transcribe(self, audio: np.ndarray, **options: Any) -> tuple[Any, dict[str, str]]:
        self.calls.append((audio, options))
        return iter(self.segments), {"language": "en"}


def test_segment_confidence_formula() -> None:
    assert segment_confidence(Segment("x", math.log(0.8), 0.25)) == pytest.approx(0.6)
    assert segment_confidence(Segment("x", 0.3, 0.0)) == 1.0
    assert segment_confidence(Segment("x", -1.0, 1.0)) == 0.0


def test_combine_weights_by_words_and_skips_empty_segments() -> None:
    text, confidence = combine(
        [Segment(" Yes, three months.", math.log(0.9), 0.0), Segment("  ", -9, 0.9),
         Segment(" Austin", math.log(0.5), 0.0)]
    )
    assert text == "yes three months austin"
    assert confidence == pytest.approx((3 * 0.9 + 1 * 0.5) / 4)
    assert combine([]) == ("", 0.0)


async def test_transcribes_with_the_injected_model(tmp_path: Path) -> None:
    stt = FasterWhisperSTT(str(tmp_path), beam_size=3, compute_type="float32",
                           model_factory=FakeWhisperModel)
    stt.set_vocabulary(["Austin", " ", "pre-approved"])
    await stt.start()
    pcm = (np.ones(16_000, dtype=np.int16) * 16_384).tobytes()
    result = await stt.transcribe(pcm + b"\x00")
    model = FakeWhisperModel.instances[-1]
    assert model.path == str(tmp_path)
    assert model.options == {"device": "cpu", "device_index": 0, "compute_type": "float32", "local_files_only": True}
    audio, options = model.calls[0]
    assert audio.dtype == np.float32 and audio.shape == (16_000,) and audio[0] == 0.5
    assert options["vad_filter"] is False and options["beam_size"] == 3
    assert options["hotwords"] == "Austin, pre-approved" and options["language"] == "en"
    assert result.text == "we're pre approved for four hundred thousand"
    expected = (2 * math.exp(-0.1) * 0.98 + 2 * math.exp(-0.5) * 0.9) / 4  # words as spoken
    assert result.confidence == pytest.approx(expected) and result.audio_s == 1.0
    assert (await stt.transcribe(b"")).confidence == 0.0
    await stt.close()


async def test_a_low_confidence_transcript_is_still_returned(tmp_path: Path) -> None:
    stt = FasterWhisperSTT(str(tmp_path), model_factory=FakeWhisperModel)
    await stt.start()
    FakeWhisperModel.instances[-1].segments = [Segment(" maybe", -3.0, 0.5)]
    result = await stt.transcribe(b"\x01\x00" * 1600)
    assert result.text == "maybe" and result.confidence < SttSettings().min_confidence


async def test_cached_size_name_loads_without_downloading() -> None:
    stt = FasterWhisperSTT("small.en", model_factory=FakeWhisperModel)
    await stt.start()
    assert FakeWhisperModel.instances[-1].path == "small.en"
    assert FakeWhisperModel.instances[-1].options["local_files_only"] is True


async def test_empty_model_names_the_setting() -> None:
    setting = r"stt\.faster_whisper\.model \(REAUTO_STT__FASTER_WHISPER__MODEL\)"
    with pytest.raises(ProviderUnavailable, match=setting):
        await FasterWhisperSTT.from_settings(SttSettings(provider="faster-whisper")).start()


async def test_missing_model_dir_names_the_path_and_setting(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ProviderUnavailable, match=rf"{missing} not found .*stt\.faster_whisper\.model"):
        await FasterWhisperSTT(str(missing), model_factory=FakeWhisperModel).start()


async def test_unloadable_model_is_unavailable(tmp_path: Path) -> None:
    def broken(path: str, **options: Any) -> None:
        raise RuntimeError("Unable to open file 'model.bin'")

    with pytest.raises(ProviderUnavailable, match=r"cannot load model directory .*model\.bin"):
        await FasterWhisperSTT(str(tmp_path), model_factory=broken).start()
    with pytest.raises(ProviderUnavailable, match="not in the local cache.*never downloads"):
        await FasterWhisperSTT("large-v3", model_factory=broken).start()


async def test_missing_package_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "faster_whisper", None)
    with pytest.raises(ProviderUnavailable, match=r"pip install 'reauto\[whisper\]'"):
        await FasterWhisperSTT(str(tmp_path)).start()


async def test_uses_faster_whisper_when_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_package = SimpleNamespace(WhisperModel=FakeWhisperModel)
    monkeypatch.setitem(sys.modules, "faster_whisper", fake_package)
    await FasterWhisperSTT(str(tmp_path)).start()
    assert FakeWhisperModel.instances[-1].path == str(tmp_path)


def test_from_settings_reads_the_whisper_settings() -> None:
    settings = SttSettings(faster_whisper={"model": "/models/small", "device": "cuda", "device_index": 1,
                                           "compute_type": "float16", "beam_size": 5})
    stt = FasterWhisperSTT.from_settings(settings)
    assert (stt._model_name, stt._device, stt._device_index, stt._compute_type, stt._beam_size) == (
        "/models/small", "cuda", 1, "float16", 5)
