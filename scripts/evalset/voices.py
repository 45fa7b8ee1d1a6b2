"""The lead's voice: flite, espeak-ng or Piper, at its own speaking rate and pitch.

Every engine's output is resampled to reauto's 16 kHz and its leading and trailing silence
trimmed to 50 ms, so a turn's times are where its speech is.

Piper's voice model draws its generator and duration noise from an unseeded random source
inside onnxruntime (``onnxruntime.set_seed`` does not reach it: the same sentence measured 3
different lengths in 3 runs), so its noise scales are set to 0 here: with them, and one
onnxruntime thread, the same sentence gives the same samples. Variety comes from the length
scale and the line (sox tempo and pitch) instead.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reauto.audio.codec import SAMPLE_RATE, read_wav, to_internal

FLITE_VOICES = ("kal", "kal16", "awb", "rms", "slt")
ESPEAK_VOICES = ("en-us", "en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc",
                 "en-gb-x-gbclan", "en-gb-x-gbcwmd")
ESPEAK_VARIANTS = ("", "f1", "f2", "f3", "f4", "f5", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "klatt", "klatt4",
                   "Annie", "Andy", "belinda", "linda", "steph", "john", "max", "paul", "robert", "david", "aunty")
#: espeak-ng's formant voices are the furthest from human speech: the smallest share.
ENGINE_SHARES = {"flite": 0.35, "espeak": 0.25, "piper": 0.4}
TRIM_LEVEL = 64  # samples quieter than this (about -54 dBFS) at the ends are silence
TRIM_KEEP_S = 0.05


@dataclass(frozen=True)
class Voice:
    """One engine and voice, with its rate (flite stretch, espeak words/min, Piper length scale)
    and pitch (espeak only)."""

    engine: str
    name: str
    rate: float
    pitch: int | None = None

    def describe(self) -> str:
        if self.engine == "flite":
            return f"flite {self.name} duration stretch {self.rate}"
        if self.engine == "espeak":
            return f"espeak-ng -v {self.name} -s {int(self.rate)} -p {self.pitch}"
        return f"piper {self.name} length scale {self.rate}"


#: With ``mild`` conditions: fewer of espeak-ng's formant voices.
MILD_ENGINE_SHARES = {"flite": 0.45, "espeak": 0.1, "piper": 0.45}


def pick_voice(rng: np.random.Generator, *, mild: bool = False) -> Voice:
    """A voice for one call."""
    shares = MILD_ENGINE_SHARES if mild else ENGINE_SHARES
    engines = list(shares)
    engine = engines[int(rng.choice(len(engines), p=list(shares.values())))]
    if engine == "flite":
        return Voice("flite", str(rng.choice(FLITE_VOICES)), round(float(rng.uniform(0.85, 1.3)), 2))
    if engine == "espeak":
        variant = str(rng.choice(ESPEAK_VARIANTS))
        name = str(rng.choice(ESPEAK_VOICES)) + (f"+{variant}" if variant else "")
        return Voice("espeak", name, float(int(rng.integers(125, 186))), int(rng.integers(25, 76)))
    return Voice("piper", "en_US-joe-medium", round(float(rng.uniform(0.8, 1.35)), 2))


def speak(voice: Voice, text: str) -> np.ndarray:
    """``text`` in ``voice``: float samples at 16 kHz, ends trimmed."""
    if voice.engine == "piper":
        pcm, rate = _piper(text, voice.rate)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "say.wav"
            if voice.engine == "flite":
                cmd = ["flite", "-voice", voice.name, "--setf", f"duration_stretch={voice.rate}", "-t", text,
                       "-o", str(out)]
            else:
                cmd = ["espeak-ng", "-v", voice.name, "-s", str(int(voice.rate)), "-p", str(voice.pitch),
                       "-w", str(out), text]
            subprocess.run(cmd, check=True, capture_output=True)
            audio = read_wav(out)
            pcm, rate = audio.pcm, audio.rate
    samples = np.frombuffer(to_internal(pcm, rate), dtype=np.int16).astype(np.float64)
    return trim(samples)


def trim(samples: np.ndarray) -> np.ndarray:
    """Cut leading and trailing silence, keeping 50 ms at each end."""
    loud = np.flatnonzero(np.abs(samples) > TRIM_LEVEL)
    if loud.size == 0:
        return samples
    keep = int(TRIM_KEEP_S * SAMPLE_RATE)
    return samples[max(0, loud[0] - keep): loud[-1] + keep]


_PIPER: dict[str, Any] = {}


def _piper(text: str, length_scale: float) -> tuple[bytes, int]:
    """Piper's joe voice (one per process, one onnxruntime thread): PCM16 and its rate."""
    if "voice" not in _PIPER:
        import onnxruntime
        from piper import PiperConfig, PiperVoice

        from reauto.tts.piper import default_voice

        model = default_voice()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        config = PiperConfig.from_dict(json.loads(Path(f"{model}.json").read_text(encoding="utf-8")))
        session = onnxruntime.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
        _PIPER["voice"] = PiperVoice(session=session, config=config)
    from piper import SynthesisConfig

    voice = _PIPER["voice"]
    syn = SynthesisConfig(length_scale=length_scale, noise_scale=0.0, noise_w_scale=0.0)
    pcm = b"".join(chunk.audio_int16_bytes for chunk in voice.synthesize(text, syn_config=syn))
    return pcm, int(voice.config.sample_rate)
