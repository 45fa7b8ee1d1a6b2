"""``reauto models list|pull|verify`` against loopback doubles of the Hugging Face Hub and Ollama.

The doubles speak the sources' real HTTP protocols (tests/fakes/hub.py, tests/fakes/ollama.py);
the CLI runs in a worker thread (it runs its own event loop) while they serve on this one.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reauto.cli.main import app
from reauto.config import CoquiSettings, ModelsSettings, Settings, SttSettings, TtsSettings, load_settings
from reauto import modelstore
from reauto.modelfiles import catalog
from reauto.modelfiles.actions import Models
from reauto.providers import ProviderUnavailable
from reauto.stt.whisper import FasterWhisperSTT
from reauto.tts.piper import PiperTTS, default_voice

from .fakes.hub import FakeHub
from .fakes.ollama import FakeOllama

pytestmark = pytest.mark.unit
runner = CliRunner()

WHISPER = {"config.json": b'{"alignment_heads": []}', "model.bin": bytes(range(256)) * 4000,
           "tokenizer.json": b'{"model": {}}', "vocabulary.txt": b"a\nb\n", "README.md": b"# not needed"}
AMY = "en/en_US/amy/medium/en_US-amy-medium"


def _voice_files() -> dict[str, bytes]:
    onnx = default_voice()
    return {f"{AMY}.onnx": onnx.read_bytes(), f"{AMY}.onnx.json": Path(f"{onnx}.json").read_bytes(),
            "en/en_US/amy/low/en_US-amy-low.onnx": b"other quality"}


@pytest.fixture
async def hub():
    fake = FakeHub({"Systran/faster-whisper-small.en": {"main": dict(WHISPER)},
                    "rhasspy/piper-voices": {"v1.0.0": _voice_files()}})
    await fake.start()
    yield fake
    await fake.close()


def _env(tmp_path: Path, hub_url: str, **more: str | None) -> dict[str, str | None]:
    """The CLI's environment (a ``None`` value leaves that variable out)."""
    return {"REAUTO_MODELS_DIR": str(tmp_path / "models"), "REAUTO_MODELS_HUB_URL": hub_url,
            "REAUTO_MODELS_RETRIES": "2", "REAUTO_STT_PROVIDER": "faster-whisper",
            "REAUTO_STT__FASTER_WHISPER__MODEL": "small.en", "REAUTO_TTS__PIPER__VOICE": "en_US-amy-medium",
            "REAUTO_CONFIG": str(tmp_path / "none.toml"), **more}


async def _cli(args: list[str], env: dict[str, str | None]):
    Path(str(env["REAUTO_CONFIG"])).write_text("")
    return await asyncio.to_thread(runner.invoke, app, args, env=env)


def test_needs_follow_the_configured_providers():
    cfg = Settings(stt=SttSettings(provider="faster-whisper", faster_whisper={"model": "/srv/whisper"}),
                   tts=TtsSettings(piper={"voice": "en_GB-northern_english_male-medium"}, premium="elevenlabs"),
                   llm={"brain": "ollama", "hosts": ["http://a:11434", "http://b:11434"],
                        "models": {"extraction": "qwen2.5:1.5b", "closer": "llama3.2:3b"}})
    got = [(n.provider, n.model, n.source, n.host) for n in catalog.needs(cfg)]
    assert got == [("faster-whisper", "/srv/whisper", "path", ""), ("pocketsphinx", "en-us", "bundled", ""),
                   ("piper", "en_GB-northern_english_male-medium", "piper", ""),
                   ("elevenlabs", "(no voice id)", "cloud", ""),
                   ("ollama", "llama3.2:3b", "ollama", "http://a:11434"),
                   ("ollama", "llama3.2:3b", "ollama", "http://b:11434"),
                   ("ollama", "qwen2.5:1.5b", "ollama", "http://a:11434"),
                   ("ollama", "qwen2.5:1.5b", "ollama", "http://b:11434")]
    assert catalog.piper_repo_path("en_GB-northern_english_male-medium") == \
        "en/en_GB/northern_english_male/medium/en_GB-northern_english_male-medium"
    with pytest.raises(ValueError, match="not a Piper voice name"):
        catalog.piper_repo_path("amy")
    assert catalog.is_whisper_name("small.en") and catalog.is_whisper_name("org/custom-ct2")
    assert not catalog.is_whisper_name("/srv/whisper") and not catalog.is_whisper_name("./local/model")


async def test_the_old_model_and_voice_variables_still_work_with_a_warning(tmp_path, hub):
    env = _env(tmp_path, hub.url, REAUTO_STT__FASTER_WHISPER__MODEL=None, REAUTO_TTS__PIPER__VOICE=None,
               REAUTO_STT_WHISPER_MODEL="small.en", REAUTO_TTS_PIPER_VOICE="en_US-amy-medium")
    listed = await _cli(["models", "list", "--json"], env)
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [(r["provider"], r["model"], r["setting"]) for r in rows if r["provider"] != "pocketsphinx"] == [
        ("faster-whisper", "small.en", "stt.faster_whisper.model"), ("piper", "en_US-amy-medium", "tts.piper.voice")]
    assert "REAUTO_STT_WHISPER_MODEL is deprecated: use REAUTO_STT__FASTER_WHISPER__MODEL" in listed.stderr
    assert "REAUTO_TTS_PIPER_VOICE is deprecated: use REAUTO_TTS__PIPER__VOICE" in listed.stderr


async def test_pull_fetches_checks_and_records_each_file_then_verify_reads_them_again(tmp_path, hub):
    env = _env(tmp_path, hub.url)
    listed = json.loads((await _cli(["models", "list", "--json"], env)).output)
    assert [(r["provider"], r["state"]) for r in listed] == [
        ("faster-whisper", "missing"), ("pocketsphinx", "bundled"), ("piper", "missing")]

    pulled = await _cli(["models", "pull", "--json"], env)
    assert pulled.exit_code == 0, pulled.output
    rows = json.loads(pulled.output)
    assert [r["state"] for r in rows] == ["pulled", "bundled", "pulled"]
    folder = tmp_path / "models" / "faster-whisper" / "small.en"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["config.json", "model.bin", "tokenizer.json", "vocabulary.txt", modelstore.MANIFEST])  # not README.md
    assert (folder / "model.bin").read_bytes() == WHISPER["model.bin"]
    voice = tmp_path / "models" / "piper" / "en_US-amy-medium.onnx"
    assert voice.read_bytes() == default_voice().read_bytes()
    assert not list((tmp_path / "models").rglob("*.part"))

    verified = await _cli(["models", "verify"], env)
    assert verified.exit_code == 0 and "every model is there" in verified.output
    again = await _cli(["models", "pull", "--json"], env)  # nothing left to fetch
    assert [r["state"] for r in json.loads(again.output)] == ["present", "bundled", "present"]

    data = bytearray(voice.read_bytes())
    data[1000] ^= 0xFF
    voice.write_bytes(bytes(data))
    broken = await _cli(["models", "verify", "--json"], env)
    assert broken.exit_code == 1
    assert json.loads(broken.output)[2]["state"] == "corrupt"
    assert "SHA-256 differs" in json.loads(broken.output)[2]["detail"]
    mended = await _cli(["models", "pull", "--json"], env)
    assert [r["state"] for r in json.loads(mended.output)] == ["present", "bundled", "pulled"]
    assert voice.read_bytes() == default_voice().read_bytes()


async def test_a_dropped_download_continues_where_it_stopped_and_a_corrupt_one_is_fetched_again(tmp_path, hub):
    hub.cut_once["model.bin"] = 300_000
    hub.corrupt_once.add("tokenizer.json")
    env = _env(tmp_path, hub.url)
    result = await _cli(["models", "pull", "--whisper", "small.en", "--json"], env)
    assert result.exit_code == 0, result.output
    folder = tmp_path / "models" / "faster-whisper" / "small.en"
    assert (folder / "model.bin").read_bytes() == WHISPER["model.bin"]
    assert (folder / "tokenizer.json").read_bytes() == WHISPER["tokenizer.json"]
    ranges = [r for path, r in hub.requests if path.startswith("/cdn/")]
    assert ranges == ["", "bytes=300000-"]  # the second attempt asked for the rest only
    assert sum(1 for path, _ in hub.requests if path.endswith("/tokenizer.json")) == 2


async def test_pull_says_what_failed_and_still_pulls_the_rest(tmp_path, hub):
    env = _env(tmp_path, hub.url)
    result = await _cli(["models", "pull", "--whisper", "no-such-size", "--whisper", "Systran/faster-whisper-nope",
                         "--piper", "en_US-amy-medium", "--piper", "xx_YY-nobody-high", "--json"], env)
    assert result.exit_code == 1
    rows = {r["model"]: r for r in json.loads(result.output)}
    assert rows["no-such-size"]["state"] == "missing" and "not a faster-whisper size" in rows["no-such-size"]["detail"]
    assert "Repository not found" in rows["Systran/faster-whisper-nope"]["detail"]
    assert rows["xx_YY-nobody-high"]["state"] == "missing" and "no such model files" in rows["xx_YY-nobody-high"]["detail"]
    assert rows["en_US-amy-medium"]["state"] == "pulled"


async def test_an_unreachable_hub_says_the_machine_may_be_offline_and_what_to_do(tmp_path, unused_tcp_port):
    env = _env(tmp_path, f"http://127.0.0.1:{unused_tcp_port}", REAUTO_MODELS_RETRIES="0")
    result = await _cli(["models", "pull", "--whisper", "small.en"], env)
    assert result.exit_code == 1
    assert "Is this machine offline?" in result.output and "models.hub_url" in result.output


async def test_ollama_models_are_looked_up_and_pulled_on_every_host(tmp_path, hub):
    hosts = [FakeOllama(models=("llama3.2:3b",), library={"qwen2.5:1.5b": (900, 100)}, pull_drop_once=True),
             FakeOllama(models=(), library={"qwen2.5:1.5b": (900, 100), "llama3.2:3b": (2000,)})]
    urls = [await h.start() for h in hosts]
    try:
        env = _env(tmp_path, hub.url, REAUTO_STT_PROVIDER="pocketsphinx", REAUTO_TTS__PIPER__VOICE=None,
                   REAUTO_LLM_BRAIN="ollama", REAUTO_LLM_HOSTS=json.dumps(urls),
                   REAUTO_LLM_MODELS='{"extraction": "qwen2.5:1.5b"}')
        before = json.loads((await _cli(["models", "verify", "--json"], env)).output)
        assert [(r["model"], r["where"], r["state"]) for r in before if r["provider"] == "ollama"] == [
            ("llama3.2:3b", urls[0], "present"), ("llama3.2:3b", urls[1], "missing"),
            ("qwen2.5:1.5b", urls[0], "missing"), ("qwen2.5:1.5b", urls[1], "missing")]
        result = await _cli(["models", "pull", "--json"], env)
        assert result.exit_code == 0, result.output
        assert hosts[0].pulls == ["qwen2.5:1.5b", "qwen2.5:1.5b"]  # the dropped pull was made again
        assert sorted(hosts[1].pulls) == ["llama3.2:3b", "qwen2.5:1.5b"]
        assert (await _cli(["models", "verify"], env)).exit_code == 0
        refused = await _cli(["models", "pull", "--ollama", "no-such-model", "--json"], env)
        assert refused.exit_code == 1
        assert "file does not exist" in json.loads(refused.output)[0]["detail"]
    finally:
        for h in hosts:
            await h.close()


async def test_progress_counts_every_byte_once_even_after_a_resume(tmp_path, hub):
    class Counting:
        def __init__(self) -> None:
            self.totals: dict[int, int] = {}
            self.done: dict[int, int] = {}

        def start(self, label: str, total: int) -> int:
            self.totals[len(self.totals)] = total
            return len(self.totals) - 1

        def update(self, task: int, *, advance: int = 0, completed: int | None = None, total: int | None = None):
            self.done[task] = (completed if completed is not None else self.done.get(task, 0)) + advance

    hub.cut_once["model.bin"] = 123_456
    modelstore.configure(tmp_path / "m")
    try:
        meter = Counting()
        need = catalog.Need("stt", "faster-whisper", "small.en", "x", "whisper")
        [status] = await Models(ModelsSettings(hub_url=hub.url, retries=2, dir=tmp_path / "m")).pull([need], meter)
        assert status.state == "pulled"
        assert meter.done == meter.totals  # each file's bar ends at its size
    finally:
        modelstore.configure(modelstore.DEFAULT_DIR)


def test_providers_load_a_pulled_model_by_its_name(tmp_path):
    modelstore.configure(tmp_path)
    try:
        with pytest.raises(ProviderUnavailable, match="reauto models pull"):
            PiperTTS.from_settings(TtsSettings(piper={"voice": "en_US-amy-medium"}))
        (tmp_path / "piper").mkdir()
        shutil.copy(default_voice(), tmp_path / "piper" / "en_US-amy-medium.onnx")
        shutil.copy(f"{default_voice()}.json", tmp_path / "piper" / "en_US-amy-medium.onnx.json")
        assert PiperTTS.from_settings(TtsSettings(piper={"voice": "en_US-amy-medium"})).model_path == \
            tmp_path / "piper" / "en_US-amy-medium.onnx"

        built: list[str] = []
        folder = tmp_path / "faster-whisper" / "small.en"
        folder.mkdir(parents=True)
        (folder / "model.bin").write_bytes(b"w")
        stt = FasterWhisperSTT("small.en", model_factory=lambda path, **_: built.append(path) or object())
        stt._ensure_loaded()
        assert built == [str(folder)]
    finally:
        modelstore.configure(modelstore.DEFAULT_DIR)


def test_the_models_dir_setting_reaches_the_providers(tmp_path):
    load_settings(env={"REAUTO_MODELS_DIR": str(tmp_path / "here")})
    try:
        assert modelstore.root() == tmp_path / "here"
    finally:
        modelstore.configure(modelstore.DEFAULT_DIR)


def test_models_at_a_path_or_on_the_system_are_looked_for_where_the_settings_say(tmp_path):
    (tmp_path / "ct2").mkdir()
    (tmp_path / "ct2" / "model.bin").write_bytes(b"w")
    voice = tmp_path / "v.onnx"
    voice.write_bytes(b"x")
    cases = [
        (Settings(stt=SttSettings(provider="faster-whisper", faster_whisper={"model": str(tmp_path / "ct2")})),
         "faster-whisper", True),
        (Settings(stt=SttSettings(provider="faster-whisper", faster_whisper={"model": str(tmp_path)})),
         "faster-whisper", False),
        (Settings(tts=TtsSettings(piper={"voice": str(voice)})), "piper", False),  # no .onnx.json beside it
        (Settings(tts=TtsSettings(local="coqui", coqui=CoquiSettings(model=str(tmp_path)))), "coqui", True),
        (Settings(tts=TtsSettings(local="coqui")), "coqui", False),
        (Settings(tts=TtsSettings(local="flite")), "flite", shutil.which("flite") is not None),
        (Settings(tts=TtsSettings(local="espeak-ng")), "espeak-ng", shutil.which("espeak-ng") is not None),
    ]
    for cfg, provider, present in cases:
        [need] = [n for n in catalog.needs(cfg) if n.provider == provider]
        assert catalog.locate(need).present is present, (provider, need.model)
    Path(f"{voice}.json").write_text("{}")
    [need] = [n for n in catalog.needs(Settings(tts=TtsSettings(piper={"voice": str(voice)}))) if n.provider == "piper"]
    assert catalog.locate(need).present and need.source == "path" and not need.pullable


async def test_a_campaigns_own_ollama_model_is_listed_pulled_and_verified_with_the_configured_ones(tmp_path, hub):
    import yaml

    host = FakeOllama(models=("llama3.2:3b",), library={"qwen2.5:7b": (3000, 200)})
    url = await host.start()
    demo = yaml.safe_load(Path("campaigns/demo.yaml").read_text())
    closer = tmp_path / "closer.yaml"
    closer.write_text(yaml.safe_dump({**demo, "name": "closer", "llm": {"model": "qwen2.5:7b", "num_ctx": 4096}}))
    same = tmp_path / "same.yaml"  # keeps [llm]'s model: nothing more to fetch
    same.write_text(yaml.safe_dump({**demo, "name": "same"}))
    try:
        env = _env(tmp_path, hub.url, REAUTO_STT_PROVIDER="pocketsphinx", REAUTO_TTS__PIPER__VOICE=None,
                   REAUTO_LLM_BRAIN="ollama", REAUTO_LLM_HOSTS=json.dumps([url]))
        args = ["--campaign", str(closer), "--campaign", str(same), "--json"]
        listed = json.loads((await _cli(["models", "list", *args], env)).output)
        assert [(r["model"], r["state"], r["setting"]) for r in listed if r["provider"] == "ollama"] == [
            ("llama3.2:3b", "present", "llm.model"), ("qwen2.5:7b", "missing", "campaign closer: llm.model")]
        assert (await _cli(["models", "verify", *args], env)).exit_code == 1
        assert (await _cli(["models", "verify", "--json"], env)).exit_code == 0  # without it: only [llm]'s
        pulled = await _cli(["models", "pull", *args], env)
        assert pulled.exit_code == 0, pulled.output
        assert host.pulls == ["qwen2.5:7b"]
        assert (await _cli(["models", "verify", *args], env)).exit_code == 0
        broken = tmp_path / "broken.yaml"
        broken.write_text("name: [unclosed\n")
        refused = await _cli(["models", "list", "--campaign", str(broken)], env)
        assert refused.exit_code != 0 and "broken.yaml" in str(refused.exception or refused.output)
    finally:
        await host.close()
