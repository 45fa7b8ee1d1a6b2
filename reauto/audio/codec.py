"""Audio formats at reauto's edges.

Inside reauto audio is 16 kHz, 16-bit signed little-endian mono PCM in 20 ms frames. Telephony
legs are 8 kHz μ-law; they are converted here with the G.711 codec and the soxr resampler that
Pipecat itself uses (``audioop``, or ``audioop-lts`` on Python ≥ 3.13), never by hand.
"""

from __future__ import annotations

import io
import struct
import warnings
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from reauto.errors import UsageError

with warnings.catch_warnings():  # deprecated in the stdlib, kept alive by audioop-lts
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

SAMPLE_RATE = 16_000
PHONE_RATE = 8_000
FRAME_MS = 20
SAMPLE_WIDTH = 2
FRAME_BYTES = SAMPLE_RATE * FRAME_MS // 1000 * SAMPLE_WIDTH  # 640
PHONE_FRAME_BYTES = PHONE_RATE * FRAME_MS // 1000  # 160 μ-law bytes

def ulaw_decode(data: bytes) -> np.ndarray:
    """μ-law bytes → int16 samples (same rate), with the codec Pipecat itself uses."""
    return np.frombuffer(audioop.ulaw2lin(data, SAMPLE_WIDTH), dtype=np.int16)


def ulaw_encode(samples: np.ndarray) -> bytes:
    """int16 samples → μ-law bytes (same rate)."""
    return audioop.lin2ulaw(samples.astype(np.int16, copy=False).tobytes(), SAMPLE_WIDTH)


def resample(samples: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Resample int16 mono samples with soxr (high quality)."""
    if src_rate == dst_rate or samples.size == 0:
        return samples.astype(np.int16, copy=False)
    out = soxr.resample(samples.astype(np.float32), src_rate, dst_rate, quality="HQ")
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


def phone_to_pcm(ulaw: bytes) -> bytes:
    """8 kHz μ-law (a telephony leg) → 16 kHz PCM16 (reauto's internal format)."""
    return resample(ulaw_decode(ulaw), PHONE_RATE, SAMPLE_RATE).tobytes()


def pcm_to_phone(pcm: bytes, rate: int = SAMPLE_RATE) -> bytes:
    """PCM16 at ``rate`` → 8 kHz μ-law for a telephony leg."""
    return ulaw_encode(resample(np.frombuffer(pcm, dtype=np.int16), rate, PHONE_RATE))


class PhoneEncoder:
    """:func:`pcm_to_phone` for a stream of independent chunks, without redesigning the filter.

    Each chunk is resampled on its own (nothing is held back for the next one), exactly as
    :func:`pcm_to_phone` does, but with one soxr resampler flushed and reused instead of a new
    one per chunk, which is most of the cost of a 40 ms chunk.
    """

    def __init__(self) -> None:
        self._rate = 0
        self._stream: soxr.ResampleStream | None = None

    def encode(self, pcm: bytes, rate: int = SAMPLE_RATE) -> bytes:
        """PCM16 at ``rate`` → 8 kHz μ-law, equal to ``pcm_to_phone(pcm, rate)``."""
        samples = np.frombuffer(pcm, dtype=np.int16)
        if rate == PHONE_RATE or samples.size == 0:
            return pcm_to_phone(pcm, rate)
        if self._stream is None or rate != self._rate:
            self._stream = soxr.ResampleStream(rate, PHONE_RATE, 1, dtype="float32", quality="HQ")
            self._rate = rate
        out = self._stream.resample_chunk(samples.astype(np.float32), last=True)
        self._stream.clear()
        return ulaw_encode(np.clip(np.round(out), -32768, 32767).astype(np.int16))


def phone_round_trip(pcm: bytes, rate: int = SAMPLE_RATE) -> bytes:
    """What a 16 kHz PCM signal sounds like after a phone leg (encode + decode)."""
    return phone_to_pcm(pcm_to_phone(pcm, rate))


def to_internal(pcm: bytes, rate: int) -> bytes:
    """PCM16 mono at any rate → 16 kHz PCM16."""
    return resample(np.frombuffer(pcm, dtype=np.int16), rate, SAMPLE_RATE).tobytes()


@dataclass(frozen=True)
class Audio:
    """Mono PCM16 audio and its sample rate."""

    pcm: bytes
    rate: int

    @property
    def seconds(self) -> float:
        return len(self.pcm) / SAMPLE_WIDTH / self.rate


def read_wav(path: Path | str, *, allow_ulaw: bool = True) -> Audio:
    """Read a mono WAV (PCM16 at any rate, or 8 kHz μ-law) with a clear error when it is not.

    Raises:
        UsageError: the file is missing, malformed, stereo, or in an unsupported encoding.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read audio: {exc.strerror}") from None
    if len(raw) < 12 or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise UsageError(f"{path}: not a WAV file (no RIFF/WAVE header)")
    fmt_tag = _wav_format_tag(raw)
    if fmt_tag == 7 and allow_ulaw:
        return _read_ulaw_wav(path, raw)
    try:
        with wave.open(io.BytesIO(raw)) as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            declared = w.getnframes() * channels * width
            frames = w.readframes(w.getnframes())
    except (wave.Error, EOFError, ValueError, RuntimeError, struct.error) as exc:
        # RuntimeError: the stdlib reader's answer to a chunk size pointing past the file end.
        raise UsageError(f"{path}: malformed WAV: {str(exc) or 'a chunk size points past the end of the file'}") from None
    if len(frames) < declared:
        raise UsageError(f"{path}: truncated WAV: header declares {declared} bytes, file has {len(frames)}")
    if channels != 1:
        raise UsageError(f"{path}: {channels} channels; reauto needs mono audio")
    if width != 2:
        raise UsageError(f"{path}: {8 * width}-bit samples; reauto needs 16-bit PCM or μ-law")
    if rate not in (8_000, 16_000, 22_050, 24_000, 44_100, 48_000):
        raise UsageError(f"{path}: unsupported sample rate {rate} Hz")
    if len(frames) < SAMPLE_WIDTH:
        raise UsageError(f"{path}: WAV has no audio samples")
    return Audio(frames[: len(frames) - len(frames) % 2], rate)


def _wav_format_tag(raw: bytes) -> int | None:
    pos = 12
    while pos + 8 <= len(raw):
        chunk, size = raw[pos : pos + 4], int.from_bytes(raw[pos + 4 : pos + 8], "little")
        if chunk == b"fmt " and pos + 10 <= len(raw):
            return int.from_bytes(raw[pos + 8 : pos + 10], "little")
        pos += 8 + size + (size & 1)
    return None


def _read_ulaw_wav(path: Path, raw: bytes) -> Audio:
    pos, channels, rate, data = 12, 0, 0, b""
    while pos + 8 <= len(raw):
        chunk, size = raw[pos : pos + 4], int.from_bytes(raw[pos + 4 : pos + 8], "little")
        body = raw[pos + 8 : pos + 8 + size]
        if chunk == b"fmt " and len(body) >= 8:
            channels = int.from_bytes(body[2:4], "little")
            rate = int.from_bytes(body[4:8], "little")
        elif chunk == b"data":
            data = body
        pos += 8 + size + (size & 1)
    if channels != 1:
        raise UsageError(f"{path}: {channels} channels; reauto needs mono audio")
    if rate != PHONE_RATE:
        raise UsageError(f"{path}: μ-law at {rate} Hz; reauto reads 8 kHz μ-law")
    if not data:
        raise UsageError(f"{path}: WAV has no audio samples")
    return Audio(ulaw_decode(data).tobytes(), PHONE_RATE)


def split_channels(path: Path) -> tuple[bytes, bytes, int]:
    """A dual-channel recording → (lead PCM, agent PCM, rate).

    Raises:
        UsageError: the file is missing, malformed or not two-channel 16-bit PCM.
    """
    try:
        with wave.open(str(path)) as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            data = w.readframes(w.getnframes())
    except FileNotFoundError:
        raise UsageError(f"{path}: recording file is missing") from None
    except (wave.Error, EOFError) as exc:
        raise UsageError(f"{path}: malformed recording: {exc}") from None
    if channels == 1:
        audio = read_wav(path)
        return audio.pcm, b"", audio.rate
    if channels != 2 or width != 2:
        raise UsageError(f"{path}: expected a 2-channel 16-bit recording (lead left, agent right)")
    samples = np.frombuffer(data[: len(data) - len(data) % 4], dtype=np.int16).reshape(-1, 2)
    return samples[:, 0].tobytes(), samples[:, 1].tobytes(), rate


def write_wav(path: Path | str, pcm: bytes, rate: int = SAMPLE_RATE, channels: int = 1) -> Path:
    """Write PCM16 (interleaved when ``channels`` > 1) as a WAV file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(SAMPLE_WIDTH)
        w.setframerate(rate)
        w.writeframes(pcm)
    return path


def write_ulaw_wav(path: Path | str, pcm: bytes, rate: int = SAMPLE_RATE) -> Path:
    """Write PCM16 at ``rate`` as an 8 kHz μ-law WAV (format tag 7), as telephony recordings are."""
    ulaw = pcm_to_phone(pcm, rate)
    fmt = struct.pack("<HHIIHHH", 7, 1, PHONE_RATE, PHONE_RATE, 1, 8, 0)  # with cbSize, as WAVE_FORMAT_EX
    fact = struct.pack("<I", len(ulaw))
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"fact" + struct.pack("<I", 4) + fact
            + b"data" + struct.pack("<I", len(ulaw)) + ulaw + (b"\x00" if len(ulaw) % 2 else b""))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def frames(pcm: bytes, frame_bytes: int = FRAME_BYTES) -> list[bytes]:
    """Split PCM into fixed frames, zero-padding the last one."""
    out = [pcm[i : i + frame_bytes] for i in range(0, len(pcm), frame_bytes)]
    if out and len(out[-1]) < frame_bytes:
        out[-1] = out[-1] + b"\x00" * (frame_bytes - len(out[-1]))
    return out


def rms_dbfs(pcm: bytes) -> float:
    """Loudness of PCM16 in dBFS (−inf for silence)."""
    x = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
    if x.size == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(x * x)))
    return 20 * np.log10(rms / 32768) if rms > 0 else float("-inf")
