"""Print refusal evidence per question of eval files, and refusal rates per threshold.

Usage: python scripts/calibrate_support.py FILE.jsonl [FILE2.jsonl ...]
Uses the store named by settings (DATA_DIR / VECTORSTORE_DIR). Lines with
"answerable": false are the questions that should be refused.
"""

import json
import sys
from pathlib import Path

from rag.config import get_settings
from rag.retrieval.hybrid import HybridRetriever
from rag.retrieval.support import assess_support
from rag.store.knowledge_base import KnowledgeBase


def main() -> None:
    kb = KnowledgeBase(get_settings())
    retriever = HybridRetriever.from_kb(kb)
    lexical = kb.lexical_ready()
    rows = []
    for name in sys.argv[1:]:
        for line in Path(name).read_text(encoding="utf-8").splitlines():
            gold = json.loads(line)
            docs = retriever.search(gold["question"])
            s = assess_support(gold["question"], docs, lexical, min_vector_zh=0, min_vector_en=0)
            rows.append((gold.get("answerable", True), s))
            mark = "A" if rows[-1][0] else "U"
            print(
                f"{mark} {s.language} vec={s.vector:.3f} unknown={','.join(s.unknown)[:30]:30} "
                f"| {gold['question'][:50]}"
            )
    for lang in ("zh", "en"):
        sub = [(a, s) for a, s in rows if s.language == lang]
        ans = [s for a, s in sub if a]
        una = [s for a, s in sub if not a]
        print(f"\n{lang}: {len(ans)} answerable, {len(una)} unanswerable")
        for vec in (0.80, 0.84, 0.85, 0.86, 0.87, 0.875, 0.88, 0.89, 0.9):
            fa = sum(1 for s in ans if s.unknown or s.vector < vec) / max(len(ans), 1)
            tu = sum(1 for s in una if s.unknown or s.vector < vec) / max(len(una), 1)
            print(f"  vector>={vec}: refused answerable {fa:.2f}, unanswerable {tu:.2f}")


if __name__ == "__main__":
    main()
