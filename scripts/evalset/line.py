"""What the room and the phone line do to the lead's voice.

Per call: a speaking-rate change (sox ``tempo``, speech mode) and a pitch shift (sox ``pitch``)
of the voice; noise (white, pink or brown) at an SNR of 5–30 dB against the speech (9 calls in
10 above 15 dB, as on most phone calls); for a share of calls, someone talking now and then in
the background (LibriVox clips, 18–30 dB below the lead); band-limiting; the speech level;
occasional clipping; and the file format. Everything random is drawn from the call's own
generator; sox runs on 32-bit float samples so it adds no dither (its one random step).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reauto.audio.codec import SAMPLE_RATE, read_wav, to_internal

NOISE_COLOURS = ("white", "pink", "brown")
FORMAT_SHARES = {"ulaw8k": 0.7, "pcm8k": 0.15, "pcm16k": 0.15}
P_TEMPO, P_PITCH, P_BACKGROUND, P_BAND, P_CLIP, P_TIMED = 0.45, 0.35, 0.2, 0.4, 0.07, 0.5
FULL_SCALE = 32767.0


@dataclass(frozen=True)
class Conditions:
    """How one call's audio is made to sound."""

    tempo: float | None  # > 1 speaks faster
    pitch_cents: int | None
    noise: str
    snr_db: float
    background_db: float | None  # background speech against the lead's speech
    band_hz: tuple[int, int] | None
    level_dbfs: float  # the lead's speech RMS; near 0 the peaks clip
    fmt: str
    timed: bool

    def describe(self) -> str:
        parts = []
        if self.tempo is not None:
            parts.append(f"tempo {self.tempo}")
        if self.pitch_cents is not None:
            parts.append(f"pitch {self.pitch_cents:+d} cents")
        parts.append(f"{self.noise} noise at SNR {self.snr_db} dB")
        if self.background_db is not None:
            parts.append(f"background speech at {self.background_db} dB")
        if self.band_hz is not None:
            parts.append(f"band {self.band_hz[0]}-{self.band_hz[1]} Hz")
        parts.append(f"speech level {self.level_dbfs} dBFS")
        parts.append(self.fmt)
        parts.append("turn times given" if self.timed else "turns left to the VAD")
        return ", ".join(parts)


def pick_conditions(rng: np.random.Generator, *, mild: bool = False) -> Conditions:
    """The conditions of one call; ``mild``: a quieter line (SNR 18–35 dB, smaller rate and pitch
    changes, no background speech, no clipping), closer to an ordinary phone call."""
    tempo = round(float(rng.uniform(*((0.9, 1.12) if mild else (0.8, 1.25)))), 2) if rng.random() < P_TEMPO else None
    pitch = int(rng.integers(*((-120, 121) if mild else (-300, 301)))) if rng.random() < P_PITCH else None
    noise = str(rng.choice(NOISE_COLOURS))
    snr = round((18 + 17 * float(rng.beta(2.0, 1.5))) if mild else (5 + 25 * float(rng.beta(3.0, 1.2))), 1)
    background = round(float(rng.uniform(-30, -18)), 1) if rng.random() < P_BACKGROUND and not mild else None
    band = (int(rng.integers(200, 450)), int(rng.integers(2700, 3500))) if rng.random() < P_BAND else None
    clip = rng.random() < P_CLIP and not mild
    level = round(float(rng.uniform(-8, -3) if clip else rng.uniform(-34, -14)), 1)
    formats = list(FORMAT_SHARES)
    fmt = formats[int(rng.choice(len(formats), p=list(FORMAT_SHARES.values())))]
    return Conditions(tempo, pitch, noise, snr, background, band, level, fmt, bool(rng.random() < P_TIMED))


def voice_effects(samples: np.ndarray, cond: Conditions) -> np.ndarray:
    """The call's tempo and pitch change applied to one utterance (16 kHz float samples)."""
    effects: list[str] = []
    if cond.tempo is not None:
        effects += ["tempo", "-s", str(cond.tempo)]
    if cond.pitch_cents is not None:
        effects += ["pitch", str(cond.pitch_cents)]
    if not effects or samples.size == 0:
        return samples
    raw = ["-t", "f32", "-r", str(SAMPLE_RATE), "-c", "1"]
    out = subprocess.run(["sox", "-V1", *raw, "-", *raw, "-", *effects],
                         input=(samples / 32768.0).astype("<f4").tobytes(), capture_output=True, check=True).stdout
    return np.frombuffer(out, dtype="<f4").astype(np.float64) * 32768.0


def coloured_noise(rng: np.random.Generator, n: int, colour: str) -> np.ndarray:
    """``n`` samples of unit-RMS noise: white, pink (power ∝ 1/f) or brown (∝ 1/f²)."""
    white = rng.standard_normal(n)
    if colour != "white" and n > 1:
        spectrum = np.fft.rfft(white)
        f = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
        f[0] = f[1]
        spectrum *= f ** (-0.5 if colour == "pink" else -1.0)
        white = np.fft.irfft(spectrum, n)
        white -= white.mean()
    return white / (np.sqrt(np.mean(white ** 2)) or 1.0)


def background_speech(rng: np.random.Generator, n: int, clips: list[np.ndarray]) -> np.ndarray:
    """``n`` samples of someone else talking now and then (clips from random offsets, 1–6 s
    apart), unit RMS over its speech."""
    out = np.zeros(n)
    t = int(rng.integers(0, SAMPLE_RATE))
    while t < n and clips:
        clip = clips[int(rng.integers(len(clips)))]
        start = int(rng.integers(0, max(1, clip.size // 2)))
        piece = clip[start: start + min(n - t, clip.size - start)]
        out[t: t + piece.size] = piece
        t += piece.size + int(rng.uniform(1.0, 6.0) * SAMPLE_RATE)
    active = out[np.abs(out) > 0]
    return out / (np.sqrt(np.mean(active ** 2)) if active.size else 1.0)


def load_clips(folder: Path | None) -> list[np.ndarray]:
    """The background speech clips (every WAV in ``folder``, sorted by name; none without it)."""
    if folder is None or not folder.is_dir():
        return []
    clips = []
    for path in sorted(folder.glob("*.wav")):
        audio = read_wav(path)
        clips.append(np.frombuffer(to_internal(audio.pcm, audio.rate), dtype=np.int16).astype(np.float64))
    return clips


def band_limit(signal: np.ndarray, low: int, high: int) -> np.ndarray:
    """Keep ``low``–``high`` Hz, with 100 Hz raised-cosine edges (zero phase, no delay)."""
    spectrum = np.fft.rfft(signal)
    f = np.fft.rfftfreq(signal.size, 1 / SAMPLE_RATE)
    edge = 100.0
    gain = np.clip((f - (low - edge)) / edge, 0, 1) * np.clip(((high + edge) - f) / edge, 0, 1)
    gain = 0.5 - 0.5 * np.cos(np.pi * gain)
    return np.fft.irfft(spectrum * gain, signal.size)


def degrade(signal: np.ndarray, speech_rms: float, cond: Conditions, rng: np.random.Generator,
            clips: list[np.ndarray]) -> tuple[np.ndarray, float]:
    """The call's room and line on the whole lead side: int16 samples at 16 kHz and the share
    of samples clipped."""
    mixed = signal.copy()
    if cond.background_db is not None and clips:
        mixed += background_speech(rng, signal.size, clips) * speech_rms * 10 ** (cond.background_db / 20)
    mixed += coloured_noise(rng, signal.size, cond.noise) * speech_rms / 10 ** (cond.snr_db / 20)
    if cond.band_hz is not None:
        mixed = band_limit(mixed, *cond.band_hz)
    mixed *= FULL_SCALE * 10 ** (cond.level_dbfs / 20) / (speech_rms or 1.0)
    clipped = float(np.mean(np.abs(mixed) >= FULL_SCALE))
    return np.clip(np.round(mixed), -32768, 32767).astype(np.int16), clipped
