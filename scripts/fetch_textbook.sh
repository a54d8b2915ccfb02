#!/usr/bin/env bash
# Fetch a long real-world Chinese PDF textbook for the retrieval check of
# tests/data/lshort_qa.jsonl: "一份（不太）简短的 LaTeX 2ε 介绍" (lshort-zh-cn.pdf,
# LPPL), shipped inside Debian's texlive-lang-chinese package. Only the .deb is
# downloaded and unpacked into a temp folder; nothing is installed.
#
# Usage: scripts/fetch_textbook.sh [DEST_DIR]   (default: textbook/, git-ignored)
# Then:  DATA_DIR=textbook VECTORSTORE_DIR=vectorstore-textbook python -m rag.ingest textbook/lshort-zh-cn.pdf
#        DATA_DIR=textbook VECTORSTORE_DIR=vectorstore-textbook python -m rag.eval tests/data/lshort_qa.jsonl --no-llm
set -euo pipefail
cd "$(dirname "$0")/.."
dest="${1:-textbook}"
mkdir -p "$dest"
if [ -f "$dest/lshort-zh-cn.pdf" ]; then
    echo "fetch_textbook: $dest/lshort-zh-cn.pdf already there"
    exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download texlive-lang-chinese >/dev/null 2>&1 ||
    { echo "fetch_textbook: apt-get download texlive-lang-chinese failed" >&2; exit 1; })
dpkg-deb --fsys-tarfile "$work"/texlive-lang-chinese_*.deb |
    tar -x -C "$work" ./usr/share/doc/texlive-doc/latex/lshort-chinese/lshort-zh-cn.pdf
cp "$work/usr/share/doc/texlive-doc/latex/lshort-chinese/lshort-zh-cn.pdf" "$dest/"
echo "fetch_textbook: $dest/lshort-zh-cn.pdf ($(du -h "$dest/lshort-zh-cn.pdf" | cut -f1))"
