#!/usr/bin/env python3
"""Regenerate the committed test fixtures in ``tests/fixtures/``.

Tests use the COMMITTED fixture files; this script only documents how they
were made and lets you rebuild them.  Output is deterministic: running it twice
with the same font and the same library versions gives byte-identical files.

Usage::

    .venv/bin/python tests/make_fixtures.py [--font PATH] [--out DIR]
    .venv/bin/python tests/make_fixtures.py --check      # only print the check table

Requirements (for regenerating only):

* Python packages: ``fpdf2``, ``pypdf``, ``pypdfium2``, ``fonttools``, ``Pillow``
  (Pillow is a dependency of fpdf2).  No ``cryptography`` needed (RC4 is used).
* A CJK TrueType font.  ``--font`` wins; otherwise the usual Debian paths are
  tried, in this order (``apt-get install fonts-droid-fallback`` gives the first):

  - /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf   (fonts-droid-fallback)
  - /usr/share/fonts-droid-fallback/truetype/DroidSansFallback.ttf
  - /usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf       (fonts-arphic-gbsn00lp)
  - /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc                (fonts-wqy-zenhei)
  - /usr/share/fonts/truetype/wqy/wqy-microhei.ttc              (fonts-wqy-microhei)
  - /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc      (fonts-noto-cjk, CFF!)

  The committed files were made with DroidSansFallbackFull.ttf.  Every font is
  subset with fontTools to just the characters used, so files stay small.
  (A CFF-flavoured font such as Noto CJK works for the fpdf2-made files, but not
  for garbled.pdf, which needs TrueType ``glyf`` outlines: CIDFontType2.)

Fixtures (all in tests/fixtures/):

``gbk_note.txt``
    Chinese notes on 注意力机制 / Transformer encoded in GBK (cp936), LF line
    ends; verified NOT to be valid UTF-8.  Contains
    "自注意力机制让每个词元都能关注序列中的其他词元。"
``bom_note.txt``
    UTF-8 with BOM (EF BB BF) and CRLF line ends (Windows Notepad style).
    Contains "位置编码为模型提供词元的顺序信息。"
``headings.md``
    UTF-8 Markdown: ``# 大模型微调`` > ``## LoRA`` > ``### 低秩分解``, then
    ``## 全参数微调``, with paragraphs under each; "LoRA 通过低秩矩阵近似权重更新。"
    is under ``### 低秩分解``.
``multipage.pdf``
    3 pages (fpdf2, embedded subset CID font *with* /ToUnicode).  Page 1 has
    "第一页讲的是检索增强生成。", page 2 is empty (no content at all), page 3 has
    "第三页讲的是向量数据库。".  pypdf and pypdfium2 both extract them.
``garbled.pdf``
    2 pages, hand-written PDF.  Font: Type0, /Encoding /Identity-H, descendant
    CIDFontType2 with /CIDSystemInfo (Adobe, GB1, 5), an embedded TrueType
    subset (FontFile2) and a /CIDToGIDMap stream, and NO /ToUnicode.  The
    2-byte codes in the content stream are Adobe-GB1 CIDs (table below).
    pypdf treats Identity-H as UTF-16BE, so it returns chr(CID) for every
    character: Armenian, Arabic, Syriac, Thaana, Indic, Georgian letters and
    unassigned code points, and "b" for "。" (CID 98).  pdfium maps
    CIDs through its built-in Adobe-GB1 CID->Unicode table (chosen from the
    /Ordering), so pypdfium2 returns the correct Chinese.  Page 1:
    "混合检索结合了关键词检索与向量检索。", page 2: "倒数排名融合用于合并多个排序结果。".
    Merely deleting /ToUnicode from an fpdf2 file is NOT enough: with
    /Ordering (Identity) pdfium has no table either and, like pypdf, returns
    the raw codes (control characters).
``scanned.pdf``
    1 page with no text layer: a grayscale raster image of some Chinese text
    (rendered with Pillow) plus a drawn frame.  Both extractors return "".
``corrupt.pdf``
    "%PDF-1.4" header then seeded random bytes (no xref, no objects, no
    %%EOF).  pypdf.PdfReader and pypdfium2.PdfDocument both raise.
``encrypted.pdf``
    1 page (Chinese + English text) encrypted with RC4-128, user password
    "secret" (owner password "owner-secret").  pypdf: ``is_encrypted`` is True
    and text extraction raises until ``decrypt("secret")``; pypdfium2 raises
    PdfiumError without the password and opens with ``password="secret"``.
``empty.txt``
    0 bytes.
``binary.txt``
    2048 seeded random bytes, with a NUL every 64 bytes and 0x80/0xFF bytes,
    so it is valid neither as UTF-8 nor as GBK.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import sys
import tempfile
import zlib
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "fixtures"

FONT_CANDIDATES = [
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts-droid-fallback/truetype/DroidSansFallback.ttf",
    "/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
]

FIXED_DATE = datetime(2024, 1, 1, 0, 0, 0, tzinfo=UTC)
# TrueType 'head' timestamps count seconds since 1904-01-01.
FONT_TIMESTAMP = int((FIXED_DATE - datetime(1904, 1, 1, tzinfo=UTC)).total_seconds())

# --------------------------------------------------------------------------
# Texts
# --------------------------------------------------------------------------

GBK_TEXT = """\
注意力机制学习笔记

注意力机制的核心思想是：在处理一个位置时，根据相关程度为其他位置分配不同的权重。查询、键和值三个矩阵由输入线性变换得到，查询与键的点积经过缩放和 softmax 之后，成为对值加权求和的系数。

自注意力机制让每个词元都能关注序列中的其他词元。与循环神经网络相比，它不需要按时间步依次计算，因此可以充分并行，也更容易捕捉长距离依赖。

Transformer 由编码器和解码器堆叠而成。每一层包含多头注意力和前馈网络两个子层，子层外面都有残差连接和层归一化。多头注意力把表示拆分到多个子空间，让不同的头关注不同类型的关系。

复杂度方面，自注意力的计算量与序列长度的平方成正比，所以长文本场景常用稀疏注意力、滑动窗口或线性注意力来降低开销。
"""

BOM_TEXT = """\
位置编码笔记

Transformer 本身对输入顺序不敏感，因为注意力只看词元之间的相似度。位置编码为模型提供词元的顺序信息。

原始论文使用正弦和余弦函数生成固定的位置编码，不同维度对应不同的频率；后来的模型常用可学习的位置向量，或者旋转位置编码（RoPE）。

旋转位置编码把位置信息写进查询和键的旋转角度里，使注意力分数只依赖相对位置，外推到更长的上下文时表现更稳定。
"""

HEADINGS_MD = """\
# 大模型微调

微调是在预训练模型的基础上，用特定任务的数据继续训练，使模型适应下游场景。

## LoRA

LoRA（Low-Rank Adaptation）冻结原始权重，只训练插入的少量参数，显存占用和存储成本都很低。

### 低秩分解

LoRA 通过低秩矩阵近似权重更新。具体来说，把权重增量写成两个小矩阵 B 和 A 的乘积，秩 r 远小于原始维度。

训练结束后可以把 BA 合并回原始权重，推理时没有额外延迟。

## 全参数微调

全参数微调会更新模型的全部参数，效果上限通常更高，但需要大量显存，并且每个任务都要保存一份完整的模型副本。

常见做法包括混合精度训练、梯度检查点和 ZeRO 优化器状态切分。
"""

PDF_PAGE1 = [
    "第一页讲的是检索增强生成。",
    "检索增强生成先从知识库中找出相关片段，再把片段和问题一起交给大模型生成答案。",
]
PDF_PAGE3 = [
    "第三页讲的是向量数据库。",
    "向量数据库保存文本片段的嵌入向量，并支持近似最近邻搜索。",
]

GARBLED_PAGES = [
    "混合检索结合了关键词检索与向量检索。",
    "倒数排名融合用于合并多个排序结果。",
]

# Adobe-GB1 CIDs of the characters in GARBLED_PAGES.  Taken from the
# UniGB-UTF16-H CMap (Debian package poppler-data:
# /usr/share/poppler/cMap/Adobe-GB1/UniGB-UTF16-H) and cross-checked with
# /usr/share/poppler/cidToUnicode/Adobe-GB1.  make_garbled() verifies them
# with pdfium, which has the same table built in.
GB1_CID = {
    "。": 98,
    "与": 4304,
    "个": 1777,
    "了": 2580,
    "于": 4287,
    "倒": 1434,
    "关": 1841,
    "合": 1926,
    "名": 2816,
    "向": 3935,
    "多": 1567,
    "并": 1129,
    "序": 4029,
    "排": 2950,
    "数": 3476,
    "果": 1876,
    "检": 2143,
    "混": 2049,
    "用": 4264,
    "索": 3564,
    "结": 2226,
    "融": 3253,
    "词": 1357,
    "量": 2568,
    "键": 2159,
}

SCANNED_LINES = ["扫描件：这一页只有图片，", "没有任何文字层。"]

ENCRYPTED_LINES = [
    "加密文档：只有输入密码才能读取。",
    "This document is encrypted with the user password.",
]

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def find_font(explicit: str | None) -> str:
    if explicit:
        if not os.path.isfile(explicit):
            sys.exit(f"font not found: {explicit}")
        return explicit
    for cand in FONT_CANDIDATES:
        if os.path.isfile(cand):
            return cand
    sys.exit(
        "No CJK font found. Install one (apt-get install fonts-droid-fallback) "
        "or pass --font /path/to/cjk.ttf"
    )


def subset_font(font_path: str, text: str, dest: str) -> None:
    """Write a TrueType subset of ``font_path`` containing the chars of ``text``."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(font_path, fontNumber=0, lazy=False)
    opts = subset.Options()
    opts.layout_features = []
    opts.hinting = False
    opts.name_IDs = [1, 2, 4, 6]  # keep family/style/full/postscript names
    opts.notdef_outline = True
    opts.recalc_timestamp = False
    sub = subset.Subsetter(opts)
    sub.populate(unicodes={ord(c) for c in text if not c.isspace()} | {0x20})
    sub.subset(font)
    # Fixed timestamps in head so the subset is byte-reproducible.
    font["head"].created = FONT_TIMESTAMP
    font["head"].modified = FONT_TIMESTAMP
    font.recalcTimestamp = False
    font.save(dest, reorderTables=True)


def write(out: Path, name: str, data: bytes) -> None:
    (out / name).write_bytes(data)


def fpdf_doc(font_file: str):
    from fpdf import FPDF

    pdf = FPDF(format="A4", unit="pt")
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_producer("notes-qa tests/make_fixtures.py")
    pdf.set_compression(True)
    pdf.add_font("cjk", fname=font_file)
    pdf.set_font("cjk", size=16)
    pdf.set_margins(56, 56, 56)
    pdf.set_auto_page_break(False)
    return pdf


def fpdf_bytes(pdf) -> bytes:
    return bytes(pdf.output())


# --------------------------------------------------------------------------
# Text files
# --------------------------------------------------------------------------


def make_text_files(out: Path) -> None:
    gbk = GBK_TEXT.encode("gbk")
    try:
        gbk.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:  # pragma: no cover
        raise AssertionError("gbk_note.txt must not be valid UTF-8")
    write(out, "gbk_note.txt", gbk)

    bom = BOM_TEXT.replace("\n", "\r\n").encode("utf-8-sig")
    assert bom.startswith(b"\xef\xbb\xbf")
    write(out, "bom_note.txt", bom)

    write(out, "headings.md", HEADINGS_MD.encode("utf-8"))
    write(out, "empty.txt", b"")

    rng = random.Random(20240101)
    data = bytearray(rng.randbytes(2048))
    for i in range(0, len(data), 64):
        data[i] = 0x00
    data[1] = 0x80  # lone continuation byte: invalid UTF-8, invalid GBK lead
    data[2] = 0xFF  # never valid in UTF-8 nor GBK
    for codec in ("utf-8", "gbk"):
        try:
            bytes(data).decode(codec)
        except UnicodeDecodeError:
            pass
        else:  # pragma: no cover
            raise AssertionError(f"binary.txt must not decode as {codec}")
    write(out, "binary.txt", bytes(data))


# --------------------------------------------------------------------------
# PDFs made with fpdf2
# --------------------------------------------------------------------------


def make_multipage(out: Path, font_file: str) -> None:
    pdf = fpdf_doc(font_file)
    for lines in (PDF_PAGE1, None, PDF_PAGE3):
        pdf.add_page()
        if lines:
            for line in lines:
                pdf.multi_cell(0, 24, line, new_x="LMARGIN", new_y="NEXT")
    write(out, "multipage.pdf", fpdf_bytes(pdf))


def make_scanned(out: Path, font_path: str) -> None:
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("L", (480, 120), 255)
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(font_path, 28, index=0)
    for i, line in enumerate(SCANNED_LINES):
        draw.text((20, 15 + i * 45), line, font=font, fill=30)
    # a little deterministic "scanner noise"
    rng = random.Random(7)
    for _ in range(400):
        img.putpixel((rng.randrange(480), rng.randrange(120)), rng.randrange(120, 230))
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    buf.seek(0)

    from fpdf import FPDF

    pdf = FPDF(format="A4", unit="pt")
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_producer("notes-qa tests/make_fixtures.py")
    pdf.add_page()
    pdf.rect(40, 40, 515, 200)
    pdf.image(buf, x=56, y=60, w=480, h=120)
    write(out, "scanned.pdf", fpdf_bytes(pdf))


def make_encrypted(out: Path, font_file: str) -> None:
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject, ByteStringObject

    pdf = fpdf_doc(font_file)
    pdf.add_page()
    pdf.multi_cell(0, 24, ENCRYPTED_LINES[0], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=14)  # CJK fallback fonts may lack Latin glyphs
    pdf.multi_cell(0, 24, ENCRYPTED_LINES[1], new_x="LMARGIN", new_y="NEXT")
    plain = fpdf_bytes(pdf)

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(plain)))
    file_id = ByteStringObject(hashlib.md5(b"notes-qa encrypted.pdf").digest())
    writer._ID = ArrayObject([file_id, file_id])  # fixed ID => reproducible
    writer.encrypt(user_password="secret", owner_password="owner-secret", algorithm="RC4-128")
    # encrypt() only keys on ID[0]; replace the random second half as well.
    writer._ID = ArrayObject([file_id, file_id])
    buf = io.BytesIO()
    writer.write(buf)
    write(out, "encrypted.pdf", buf.getvalue())


# --------------------------------------------------------------------------
# garbled.pdf: hand-written PDF, Identity-H + Adobe-GB1 CIDs, no ToUnicode
# --------------------------------------------------------------------------


class RawPDF:
    """Tiny deterministic PDF serializer (objects are given as bytes)."""

    def __init__(self) -> None:
        self.objs: list[bytes | None] = []

    def reserve(self) -> int:
        self.objs.append(None)
        return len(self.objs)

    def set(self, num: int, body: bytes) -> None:
        self.objs[num - 1] = body

    def add(self, body: bytes) -> int:
        num = self.reserve()
        self.set(num, body)
        return num

    def stream(self, data: bytes, extra: bytes = b"", compress: bool = True) -> int:
        if compress:
            data = zlib.compress(data, 9)
            extra = b"/Filter /FlateDecode " + extra
        return self.add(
            b"<< " + extra + b"/Length %d >>\nstream\n" % len(data) + data + b"\nendstream"
        )

    def output(self, root: int) -> bytes:
        out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for i, body in enumerate(self.objs, start=1):
            assert body is not None, f"object {i} never set"
            offsets.append(len(out))
            out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
        xref = len(out)
        out += b"xref\n0 %d\n" % (len(self.objs) + 1)
        out += b"0000000000 65535 f \n"
        for off in offsets:
            out += b"%010d 00000 n \n" % off
        out += b"trailer\n<< /Size %d /Root %d 0 R >>\n" % (len(self.objs) + 1, root)
        out += b"startxref\n%d\n%%%%EOF\n" % xref
        return bytes(out)


def make_garbled(out: Path, font_path: str) -> None:
    from fontTools.ttLib import TTFont

    text = "".join(GARBLED_PAGES)
    missing = sorted(set(text) - set(GB1_CID))
    assert not missing, f"no Adobe-GB1 CID for {missing}"

    with tempfile.TemporaryDirectory() as tmp:
        sub_path = os.path.join(tmp, "sub.ttf")
        subset_font(font_path, text, sub_path)
        font_bytes = Path(sub_path).read_bytes()
        font = TTFont(sub_path)
    if "glyf" not in font:
        sys.exit("garbled.pdf needs a TrueType (glyf) font, not CFF: pass --font")

    cmap = font.getBestCmap()
    upem = font["head"].unitsPerEm
    hmtx = font["hmtx"]
    cid_to_gid: dict[int, int] = {}
    widths: dict[int, int] = {}
    for ch in sorted(set(text)):
        gname = cmap[ord(ch)]
        gid = font.getGlyphID(gname)
        cid = GB1_CID[ch]
        cid_to_gid[cid] = gid
        widths[cid] = round(hmtx[gname][0] * 1000 / upem)

    max_cid = max(cid_to_gid)
    c2g = bytearray(2 * (max_cid + 1))
    for cid, gid in cid_to_gid.items():
        c2g[2 * cid : 2 * cid + 2] = gid.to_bytes(2, "big")

    head = font["head"]
    hhea = font["hhea"]
    os2 = font.get("OS/2", None)
    scale = 1000 / upem
    bbox = [round(v * scale) for v in (head.xMin, head.yMin, head.xMax, head.yMax)]
    ascent = round(hhea.ascent * scale)
    descent = round(hhea.descent * scale)
    cap = round(getattr(os2, "sCapHeight", 0) * scale) if os2 else ascent
    cap = cap or ascent
    ps_name = font["name"].getDebugName(6) or "CJKFont"
    base_font = ("GBZZZZ+" + ps_name.replace(" ", "")).encode("ascii")

    pdf = RawPDF()
    font_file = pdf.stream(font_bytes, b"/Length1 %d " % len(font_bytes))
    descriptor = pdf.add(
        b"<< /Type /FontDescriptor /FontName /"
        + base_font
        + b" /Flags 4 /FontBBox [%d %d %d %d]" % tuple(bbox)
        + b" /ItalicAngle 0 /Ascent %d /Descent %d /CapHeight %d" % (ascent, descent, cap)
        + b" /StemV 80 /FontFile2 %d 0 R >>" % font_file
    )
    cid_map = pdf.stream(bytes(c2g))
    w_arr = b" ".join(b"%d [%d]" % (cid, widths[cid]) for cid in sorted(widths))
    cid_font = pdf.add(
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /"
        + base_font
        + b" /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 5 >>"
        + b" /FontDescriptor %d 0 R /DW 1000 /W [" % descriptor
        + w_arr
        + b"]"
        + b" /CIDToGIDMap %d 0 R >>" % cid_map
    )
    type0 = pdf.add(
        b"<< /Type /Font /Subtype /Type0 /BaseFont /"
        + base_font
        + b" /Encoding /Identity-H /DescendantFonts [%d 0 R] >>" % cid_font
    )
    pages_num = pdf.reserve()
    kids = []
    for line in GARBLED_PAGES:
        hexcodes = "".join(f"{GB1_CID[ch]:04X}" for ch in line).encode("ascii")
        content = pdf.stream(b"BT\n/F1 20 Tf\n1 0 0 1 56 760 Tm\n<" + hexcodes + b"> Tj\nET\n")
        kids.append(
            pdf.add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842]" % pages_num
                + b" /Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>" % (type0, content)
            )
        )
    pdf.set(
        pages_num,
        b"<< /Type /Pages /Kids ["
        + b" ".join(b"%d 0 R" % k for k in kids)
        + b"] /Count %d >>" % len(kids),
    )
    root = pdf.add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_num)
    write(out, "garbled.pdf", pdf.output(root))


# --------------------------------------------------------------------------
# corrupt.pdf
# --------------------------------------------------------------------------


def make_corrupt(out: Path) -> None:
    rng = random.Random(404)
    junk = bytearray(rng.randbytes(700))
    # make sure no accidental PDF keywords survive in the junk
    for kw in (b"obj", b"xref", b"trailer", b"startxref", b"%%EOF"):
        assert kw not in junk
    write(out, "corrupt.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + bytes(junk))


# --------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------


def _pypdf_pages(path: Path, password: str | None = None) -> list[str]:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    if password is not None:
        reader.decrypt(password)
    return [p.extract_text() or "" for p in reader.pages]


def _pdfium_pages(path: Path, password: str | None = None) -> list[str]:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path), password=password)
    try:
        return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()


def _try(fn, *args, **kw):
    try:
        return fn(*args, **kw), None
    except Exception as exc:
        return None, f"{type(exc).__name__}: {str(exc)[:60]}"


def verify(out: Path) -> None:
    """Assert the properties the tests rely on."""
    mp_a = _pypdf_pages(out / "multipage.pdf")
    mp_b = _pdfium_pages(out / "multipage.pdf")
    for pages in (mp_a, mp_b):
        assert len(pages) == 3
        assert PDF_PAGE1[0] in pages[0].replace("\r", "").replace("\n", ""), pages[0]
        assert pages[1].strip() == "", pages[1]
        assert PDF_PAGE3[0] in pages[2].replace("\r", "").replace("\n", ""), pages[2]

    g_a = _pypdf_pages(out / "garbled.pdf")
    g_b = _pdfium_pages(out / "garbled.pdf")
    assert [p.strip() for p in g_b] == GARBLED_PAGES, g_b
    for page in g_a:
        cjk = sum(1 for c in page if "\u4e00" <= c <= "\u9fff")
        assert cjk == 0, page

    for name in ("scanned.pdf",):
        assert all(not p.strip() for p in _pypdf_pages(out / name))
        assert all(not p.strip() for p in _pdfium_pages(out / name))

    assert _try(_pypdf_pages, out / "corrupt.pdf")[1] is not None
    assert _try(_pdfium_pages, out / "corrupt.pdf")[1] is not None

    assert _try(_pypdf_pages, out / "encrypted.pdf")[1] is not None
    assert _try(_pdfium_pages, out / "encrypted.pdf")[1] is not None
    enc = _pypdf_pages(out / "encrypted.pdf", password="secret")
    assert "加密文档" in enc[0], enc
    enc = _pdfium_pages(out / "encrypted.pdf", password="secret")
    assert "加密文档" in enc[0], enc

    for name in os.listdir(out):
        size = (out / name).stat().st_size
        assert size < 300_000, (name, size)


def check_table(out: Path) -> str:
    """Per PDF and page: what pypdf and pypdfium2 extract (first 40 chars)."""
    rows = [("file", "page", "pypdf", "pypdfium2")]
    for name in sorted(p.name for p in out.glob("*.pdf")):
        path = out / name
        a, a_err = _try(_pypdf_pages, path)
        b, b_err = _try(_pdfium_pages, path)
        n = max(len(a or []), len(b or []), 1)
        for i in range(n):
            ca = a_err or repr((a[i] if i < len(a) else "-")[:40])
            cb = b_err or repr((b[i] if i < len(b) else "-")[:40])
            rows.append((name, str(i + 1), ca, cb))
        if name == "encrypted.pdf":
            a, a_err = _try(_pypdf_pages, path, password="secret")
            b, b_err = _try(_pdfium_pages, path, password="secret")
            for i in range(max(len(a or []), len(b or []), 1)):
                ca = a_err or repr(a[i][:40])
                cb = b_err or repr(b[i][:40])
                rows.append((name + ' (pw "secret")', str(i + 1), ca, cb))
    lines = ["| " + " | ".join(r) + " |" for r in rows]
    lines.insert(1, "|---|---|---|---|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--font", help="CJK TrueType font (.ttf/.ttc); default: Debian paths")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="output dir (tests/fixtures)")
    ap.add_argument("--check", action="store_true", help="only verify + print table")
    args = ap.parse_args(argv)
    out = Path(args.out)

    if not args.check:
        font_path = find_font(args.font)
        out.mkdir(parents=True, exist_ok=True)
        make_text_files(out)
        with tempfile.TemporaryDirectory() as tmp:
            # fpdf2 gets a pre-subset .ttf (also turns a .ttc into a .ttf)
            all_text = "".join(PDF_PAGE1 + PDF_PAGE3 + ENCRYPTED_LINES + SCANNED_LINES)
            small = os.path.join(tmp, "cjk-subset.ttf")
            subset_font(font_path, all_text, small)
            make_multipage(out, small)
            make_encrypted(out, small)
            make_scanned(out, small)
        make_garbled(out, font_path)
        make_corrupt(out)
        print(f"wrote fixtures to {out} (font: {font_path})")

    verify(out)
    print(check_table(out))
    print()
    for name in sorted(os.listdir(out)):
        print(f"{(out / name).stat().st_size:>8}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
