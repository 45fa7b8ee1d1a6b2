"""A CTranslate2 Whisper model of a real size with random weights, for capacity measurements.

Whisper's weights cannot always be downloaded (an offline machine, a CI runner), but the compute a
model costs depends on its shape, not on its weights: the same layers, widths, heads, vocabulary
and 30-second input window cost the same matrix products. :func:`build` writes such a model from
the published configuration of a size ("tiny.en" … "medium.en"), with a ``tokenizer.json`` whose
special tokens sit at Whisper's ids, so that :class:`~reauto.stt.whisper_batch.WhisperBatchDecoder`
loads it like a real conversion. What it transcribes is noise: use it to measure throughput and
latency (``scripts/bench/whisper_capacity.py``), never accuracy.

Needs the ``whisper`` extra (``ctranslate2``, ``tokenizers``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Shape:
    """A Whisper size: model width, attention heads and layers (encoder = decoder)."""

    width: int
    heads: int
    layers: int


#: The English-only sizes, from OpenAI's published model dimensions.
SIZES: dict[str, Shape] = {
    "tiny.en": Shape(384, 6, 4),
    "base.en": Shape(512, 8, 6),
    "small.en": Shape(768, 12, 12),
    "medium.en": Shape(1024, 16, 24),
}
VOCAB = 51864  # English-only vocabulary: 50,257 text tokens, then the special and timestamp tokens
MELS = 80
AUDIO_FRAMES = 1500  # encoder positions: 30 s of audio after the strided convolution
TEXT_POSITIONS = 448
EOT, SOT = 50256, 50257
SPECIALS = {EOT: "<|endoftext|>", SOT: "<|startoftranscript|>", 50258: "<|en|>", 50357: "<|translate|>",
            50358: "<|transcribe|>", 50359: "<|startoflm|>", 50360: "<|startofprev|>", 50361: "<|nocaptions|>",
            50362: "<|notimestamps|>"}


def build(size: str, out_dir: Path, *, quantization: str | None = "int8", seed: int = 0,
          shape: Shape | None = None) -> Path:
    """Write a random-weight model of ``size`` (or of ``shape``) to ``out_dir`` and return it.

    Raises:
        KeyError: an unknown size.
        ImportError: the ``whisper`` extra is not installed.
    """
    from ctranslate2.converters.converter import Converter

    dims = shape or SIZES[size]
    rng = np.random.default_rng(seed)

    class RandomWhisper(Converter):
        def _load(self) -> Any:
            return _spec(dims, rng)

    out_dir.mkdir(parents=True, exist_ok=True)
    RandomWhisper().convert(str(out_dir), quantization=quantization, force=True)
    _write_tokenizer(out_dir / "tokenizer.json")
    (out_dir / "preprocessor_config.json").write_text(json.dumps({"feature_size": MELS}) + "\n")
    return out_dir


def _spec(dims: Shape, rng: np.random.Generator) -> Any:
    from ctranslate2.specs import whisper_spec

    d = dims.width
    spec = whisper_spec.WhisperSpec(dims.layers, dims.heads, dims.layers, dims.heads)

    def weights(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float32)

    def norm(layer: Any) -> None:
        layer.gamma = np.ones(d, np.float32)
        layer.beta = np.zeros(d, np.float32)

    def linear(layer: Any, rows: int, cols: int, bias: bool = True) -> None:
        layer.weight = weights(rows, cols)
        if bias:
            layer.bias = np.zeros(rows, np.float32)

    enc = spec.encoder
    enc.conv1.weight, enc.conv1.bias = weights(d, MELS, 3), np.zeros(d, np.float32)
    enc.conv2.weight, enc.conv2.bias = weights(d, d, 3), np.zeros(d, np.float32)
    enc.position_encodings.encodings = weights(AUDIO_FRAMES, d)
    norm(enc.layer_norm)
    for layer in enc.layer:
        norm(layer.self_attention.layer_norm)
        linear(layer.self_attention.linear[0], 3 * d, d)
        linear(layer.self_attention.linear[1], d, d)
        _ffn(layer.ffn, d, norm, linear)
    dec = spec.decoder
    dec.embeddings.weight = weights(VOCAB, d)
    dec.position_encodings.encodings = weights(TEXT_POSITIONS, d)
    norm(dec.layer_norm)
    dec.projection.weight = dec.embeddings.weight
    for layer in dec.layer:
        norm(layer.self_attention.layer_norm)
        linear(layer.self_attention.linear[0], 3 * d, d)
        linear(layer.self_attention.linear[1], d, d)
        norm(layer.attention.layer_norm)
        linear(layer.attention.linear[0], d, d)
        linear(layer.attention.linear[1], 2 * d, d)
        linear(layer.attention.linear[2], d, d)
        _ffn(layer.ffn, d, norm, linear)
    spec.config.suppress_ids = []
    spec.config.suppress_ids_begin = [220, EOT]
    spec.config.lang_ids = [50258]
    spec.config.alignment_heads = [(dims.layers - 1, 0)]
    spec.register_vocabulary(_tokens())
    return spec


def _ffn(ffn: Any, d: int, norm: Any, linear: Any) -> None:
    norm(ffn.layer_norm)
    linear(ffn.linear_0, 4 * d, d)
    linear(ffn.linear_1, d, 4 * d)


def _tokens() -> list[str]:
    tokens = [f"w{i}" for i in range(VOCAB)]
    for index, name in SPECIALS.items():
        tokens[index] = name
    for index in range(50259, 50357):
        tokens[index] = f"<|lang{index}|>"
    for step, index in enumerate(range(50363, VOCAB)):
        tokens[index] = f"<|{step * 0.02:.2f}|>"
    return tokens


def _write_tokenizer(path: Path) -> None:
    """A word-level tokenizer over the same ids, so token ids decode to text (``w123 w45 …``)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    vocab = {token: index for index, token in enumerate(_tokens())}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="<|endoftext|>"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer.decoder = decoders.WordPiece(prefix="##", cleanup=False)
    tokenizer.add_special_tokens([SPECIALS[i] for i in sorted(SPECIALS)])
    tokenizer.save(str(path))
