import numpy as np
import pytest

from reauto.audio import codec
from reauto.audio.line import LineClock, PhoneLine, StreamCodec, ULAW_SILENCE
from reauto.errors import UsageError

pytestmark = pytest.mark.unit


def tone(seconds=1.0, hz=440.0, rate=16_000, amp=8000):
    t = np.arange(int(rate * seconds)) / rate
    return (np.sin(2 * np.pi * hz * t) * amp).astype(np.int16).tobytes()


def test_phone_round_trip_keeps_level_and_length():
    pcm = tone()
    back = codec.phone_round_trip(pcm)
    assert len(back) == len(pcm)
    assert abs(codec.rms_dbfs(back) - codec.rms_dbfs(pcm)) < 0.5
    # μ-law of the tone correlates with the original (no inversion, no shift)
    a, b = np.frombuffer(pcm, np.int16).astype(float), np.frombuffer(back, np.int16).astype(float)
    assert np.corrcoef(a[200:-200], b[200:-200])[0, 1] > 0.95


def test_ulaw_codec_matches_g711_reference_points():
    assert codec.ulaw_encode(np.array([0], np.int16)) == b"\xff"
    assert codec.ulaw_decode(b"\xff").tolist() == [0]
    assert codec.ulaw_decode(b"\x00")[0] == -32124 and codec.ulaw_decode(b"\x80")[0] == 32124


def test_stream_codec_is_continuous():
    stream = StreamCodec()
    pcm = tone(0.5)
    chunks = [pcm[i:i + codec.FRAME_BYTES] for i in range(0, len(pcm), codec.FRAME_BYTES)]
    ulaw = b"".join(stream.encode(c) for c in chunks)
    assert 0 <= len(pcm) // 4 - len(ulaw) <= 8 * 70  # 8 kHz, 1 byte a sample; < 70 ms held back
    up = b"".join(stream.decode(ulaw[i:i + 160]) for i in range(0, len(ulaw), 160))
    assert codec.rms_dbfs(up) > codec.rms_dbfs(pcm) - 3


def test_read_wav_formats(tmp_path):
    pcm8 = tone(0.2, rate=8000)
    path = codec.write_wav(tmp_path / "a.wav", pcm8, rate=8000)
    got = codec.read_wav(path)
    assert got.rate == 8000 and got.pcm == pcm8 and got.seconds == pytest.approx(0.2)
    # μ-law WAV (format tag 7) at 8 kHz
    ulaw = codec.ulaw_encode(np.frombuffer(pcm8, np.int16))
    header = (b"RIFF" + (36 + len(ulaw)).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little")
              + (7).to_bytes(2, "little") + (1).to_bytes(2, "little") + (8000).to_bytes(4, "little")
              + (8000).to_bytes(4, "little") + (1).to_bytes(2, "little") + (8).to_bytes(2, "little")
              + b"data" + len(ulaw).to_bytes(4, "little"))
    (tmp_path / "u.wav").write_bytes(header + ulaw)
    u = codec.read_wav(tmp_path / "u.wav")
    assert u.rate == 8000 and len(u.pcm) == 2 * len(ulaw)


@pytest.mark.parametrize("name,reason", [
    ("awful.wav", "unsupported sample rate"),
    ("bad.wav", "malformed WAV"),
    ("evil.wav", "malformed WAV"),
    ("null.wav", "no audio samples"),
])
def test_malformed_wavs_are_rejected_with_the_file_name(shared_dir, name, reason):
    path = shared_dir / "data" / "speech" / "malformed" / name
    with pytest.raises(UsageError, match=reason) as err:
        codec.read_wav(path)
    assert str(path) in str(err.value)


def test_read_wav_refuses_stereo_8bit_missing_and_non_wav(tmp_path):
    codec.write_wav(tmp_path / "s.wav", tone(0.1) * 2, channels=2)
    with pytest.raises(UsageError, match="2 channels"):
        codec.read_wav(tmp_path / "s.wav")
    with pytest.raises(UsageError, match="cannot read audio"):
        codec.read_wav(tmp_path / "missing.wav")
    (tmp_path / "x.wav").write_bytes(b"not a wav at all")
    with pytest.raises(UsageError, match="not a WAV"):
        codec.read_wav(tmp_path / "x.wav")
    import wave
    with wave.open(str(tmp_path / "b8.wav"), "wb") as w:
        w.setnchannels(1); w.setsampwidth(1); w.setframerate(8000); w.writeframes(b"\x80" * 800)
    with pytest.raises(UsageError, match="8-bit"):
        codec.read_wav(tmp_path / "b8.wav")


def test_frames_pad_and_silence_level():
    parts = codec.frames(b"\x01\x00" * 500)
    assert len(parts) == 2 and all(len(p) == codec.FRAME_BYTES for p in parts)
    assert codec.rms_dbfs(b"\x00\x00" * 10) == float("-inf")
    assert codec.rms_dbfs(b"") == float("-inf")
    assert codec.to_internal(tone(0.1, rate=8000), 8000).__len__() == 3200


async def test_line_plays_clears_and_counts():
    line = PhoneLine()
    assert line.tick() == ULAW_SILENCE and not line.agent_speaking
    line.play(b"\x10" * 400)
    assert line.queued_ms == 50
    assert line.tick() == b"\x10" * 160 and line.agent_speaking
    line.clear()
    assert line.stats.clears == 1 and line.queued_ms == 0
    line.clear()
    assert line.stats.clears == 1  # nothing was playing
    line.say_text("hi")
    assert line.agent_texts == ["hi"]
    line.hang_up()
    assert line.hung_up.is_set()
    got = [line.to_agent.get_nowait() for _ in range(line.to_agent.qsize())]
    assert got[-1] is None and got[0] == ULAW_SILENCE


async def test_line_clock_paces_and_resyncs():
    import asyncio
    clock = LineClock(speed=10.0)
    loop = asyncio.get_running_loop()
    start = loop.time()
    for _ in range(20):
        await clock.wait_tick()
    assert 0.03 <= loop.time() - start < 0.5


def test_phone_encoder_matches_pcm_to_phone_chunk_by_chunk():
    encoder = codec.PhoneEncoder()
    rng = np.random.default_rng(3)
    for n in (640, 640, 320, 1, 17, 5000, 640):
        pcm = (rng.standard_normal(n) * 5000).astype(np.int16).tobytes()
        assert encoder.encode(pcm) == codec.pcm_to_phone(pcm)
    chunk = tone(0.04, rate=24_000)  # another rate: a resampler of its own
    assert encoder.encode(chunk, 24_000) == codec.pcm_to_phone(chunk, 24_000)
    assert encoder.encode(b"") == b""
    narrow = tone(0.02, rate=8000)
    assert encoder.encode(narrow, 8000) == codec.pcm_to_phone(narrow, 8000)
