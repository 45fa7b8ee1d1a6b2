"""Where pulled models live, and the checksums that say they arrived whole.

``reauto models pull`` writes each model into its own folder under ``[models] dir``:

* ``faster-whisper/<name>/`` — a CTranslate2 Whisper model (``config.json``, ``model.bin``,
  ``tokenizer.json``, ``vocabulary.*``), where ``<name>`` is the size ("small.en") or the
  Hugging Face repository with ``/`` written ``--``;
* ``piper/<voice>.onnx`` and ``<voice>.onnx.json`` — a Piper voice ("en_US-amy-medium").

Beside each model a manifest (``<folder>/reauto-manifest.json`` or
``piper/<voice>.manifest.json``) records where it came from and the SHA-256 and size of every
file, as checked against the source when it was pulled; ``reauto models verify`` reads the files
again against it, offline.

The providers find a pulled model by name through :func:`whisper_dir` and :func:`piper_voice`,
so ``[stt.faster_whisper] model = "small.en"`` and ``[tts.piper] voice = "en_US-amy-medium"`` work once
pulled. :func:`configure` sets the folder from the settings (``load_settings`` calls it).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_DIR = Path("~/.cache/reauto/models")
MANIFEST = "reauto-manifest.json"
#: faster-whisper's size names and the repositories its ``download_model`` reads them from.
WHISPER_REPOS: dict[str, str] = {
    "tiny.en": "Systran/faster-whisper-tiny.en", "tiny": "Systran/faster-whisper-tiny",
    "base.en": "Systran/faster-whisper-base.en", "base": "Systran/faster-whisper-base",
    "small.en": "Systran/faster-whisper-small.en", "small": "Systran/faster-whisper-small",
    "medium.en": "Systran/faster-whisper-medium.en", "medium": "Systran/faster-whisper-medium",
    "large-v1": "Systran/faster-whisper-large-v1", "large-v2": "Systran/faster-whisper-large-v2",
    "large-v3": "Systran/faster-whisper-large-v3", "large": "Systran/faster-whisper-large-v3",
    "distil-small.en": "Systran/faster-distil-whisper-small.en",
    "distil-medium.en": "Systran/faster-distil-whisper-medium.en",
    "distil-large-v2": "Systran/faster-distil-whisper-large-v2",
    "distil-large-v3": "Systran/faster-distil-whisper-large-v3",
    "large-v3-turbo": "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
    "turbo": "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
}
_root: Path = DEFAULT_DIR


def configure(directory: Path) -> None:
    """Make ``directory`` (``[models] dir``) the process's model folder (done by ``load_settings``)."""
    global _root  # noqa: PLW0603 - one folder per process, set from the settings
    _root = directory


def root() -> Path:
    """The model folder, with ``~`` expanded."""
    return _root.expanduser()


def whisper_folder(name: str) -> Path:
    """Where the faster-whisper model ``name`` (a size or ``org/repo``) is pulled to."""
    return root() / "faster-whisper" / name.replace("/", "--")


def whisper_dir(name: str) -> Path | None:
    """The pulled model folder of ``name``, when it holds a model (else ``None``)."""
    folder = whisper_folder(name)
    return folder if (folder / "model.bin").is_file() else None


def piper_file(voice: str) -> Path:
    """Where the Piper voice ``voice`` ("en_US-amy-medium") is pulled to."""
    return root() / "piper" / f"{voice}.onnx"


def piper_voice(voice: str) -> Path | None:
    """The pulled ``.onnx`` of ``voice`` when it and its ``.onnx.json`` are there (else ``None``)."""
    path = piper_file(voice)
    return path if path.is_file() and Path(f"{path}.json").is_file() else None


def is_voice_name(value: str) -> bool:
    """Whether a ``[tts.piper] voice`` value is a voice name rather than a file path."""
    return bool(value) and "/" not in value and not value.endswith(".onnx") and not value.startswith(("~", "."))


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    """The SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def git_blob_sha1(data: bytes) -> str:
    """Git's object id of a file's bytes: how a Hugging Face repository names a small file."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class Manifest:
    """A pulled model: its source and, per file (relative to ``base``), SHA-256 and size."""

    path: Path
    source: str
    revision: str
    files: dict[str, tuple[str, int]]

    @property
    def base(self) -> Path:
        return self.path.parent

    def write(self) -> None:
        """Store the manifest (written to a temporary name first, so it is whole or absent)."""
        body = {"source": self.source, "revision": self.revision,
                "files": {name: {"sha256": sha, "size": size} for name, (sha, size) in sorted(self.files.items())}}
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
        tmp.replace(self.path)

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """The manifest at ``path``.

        Raises:
            ValueError: it is not a manifest reauto wrote (names the file).
        """
        try:
            body: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            files = {str(k): (str(v["sha256"]), int(v["size"])) for k, v in body["files"].items()}
            return cls(path, str(body["source"]), str(body["revision"]), files)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{path}: not a readable model manifest ({exc})") from exc

    def problems(self) -> list[str]:
        """What differs on disk from the manifest: missing files, other sizes, other checksums."""
        out = []
        for name, (sha, size) in sorted(self.files.items()):
            path = self.base / name
            if not path.is_file():
                out.append(f"{path}: missing")
            elif path.stat().st_size != size:
                out.append(f"{path}: {path.stat().st_size} bytes, {size} expected")
            elif sha256_of(path) != sha:
                out.append(f"{path}: SHA-256 differs from the one checked when it was pulled")
        return out


def hf_cached(repo: str) -> Path | None:
    """A snapshot of ``repo`` in the Hugging Face cache faster-whisper reads, if one holds a model."""
    try:
        from huggingface_hub import constants  # there whenever faster-whisper is
    except ImportError:
        return None
    snapshots = Path(constants.HF_HUB_CACHE) / f"models--{repo.replace('/', '--')}" / "snapshots"
    found = sorted(snapshots.glob("*/model.bin")) if snapshots.is_dir() else []
    return found[-1].parent if found else None
