"""Cross-lingual query expansion for English questions over Chinese notes.

The bundled embedding model bridges English and Chinese only weakly, and
BM25 cannot bridge them at all. Two sources of English→Chinese term pairs
close the gap:

* a built-in glossary of common LLM study terms;
* pairs mined from the notes themselves, where a Chinese term is followed by
  its English name in brackets, e.g. ``涌现能力（emergent abilities）``.

:func:`expand_query` returns the Chinese terms whose English side occurs in
the question; retrieval adds them to the BM25 query and the embedded query.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

#: English term (lower case, singular) → Chinese renderings. Domain vocabulary
#: of LLM courses and textbooks; the notes add their own pairs on top.
BUILTIN_GLOSSARY: dict[str, tuple[str, ...]] = {
    "large language model": ("大语言模型", "大模型"),
    "language model": ("语言模型",),
    "llm": ("大语言模型", "大模型"),
    "pre-trained language model": ("预训练语言模型",),
    "emergent ability": ("涌现能力",),
    "emergent": ("涌现",),
    "scaling law": ("缩放定律", "扩展定律"),
    "in-context learning": ("上下文学习",),
    "instruction following": ("指令遵循",),
    "instruction tuning": ("指令微调",),
    "instruction": ("指令",),
    "step-by-step reasoning": ("逐步推理",),
    "reasoning": ("推理",),
    "chain of thought": ("思维链",),
    "prompt engineering": ("提示工程", "提示词工程"),
    "prompt": ("提示", "提示词"),
    "few-shot": ("少样本",),
    "zero-shot": ("零样本",),
    "fine-tuning": ("微调",),
    "fine-tune": ("微调",),
    "pre-training": ("预训练",),
    "pretraining": ("预训练",),
    "training": ("训练",),
    "train": ("训练",),
    "dataset": ("数据集",),
    "data": ("数据",),
    "quality": ("质量",),
    "quantity": ("数量",),
    "diversity": ("多样性",),
    "diverse": ("多样",),
    "alignment": ("对齐",),
    "align": ("对齐",),
    "human feedback": ("人类反馈",),
    "reinforcement learning": ("强化学习",),
    "reward model": ("奖励模型",),
    "reward": ("奖励",),
    "supervised": ("监督",),
    "hallucination": ("幻觉",),
    "retrieval-augmented generation": ("检索增强生成",),
    "retrieval augmented generation": ("检索增强生成",),
    "retrieval": ("检索",),
    "retrieve": ("检索",),
    "knowledge base": ("知识库",),
    "knowledge": ("知识",),
    "vector database": ("向量数据库",),
    "vector": ("向量",),
    "embedding": ("嵌入", "向量"),
    "similarity": ("相似度", "相似"),
    "similar": ("相似",),
    "semantic": ("语义",),
    "chunk": ("分块", "文本块"),
    "tokenizer": ("分词器",),
    "tokenization": ("分词",),
    "token": ("词元", "token"),
    "vocabulary": ("词表", "词汇表"),
    "transformer": ("Transformer",),
    "attention": ("注意力",),
    "self-attention": ("自注意力",),
    "multi-head": ("多头",),
    "encoder": ("编码器",),
    "decoder": ("解码器",),
    "decoder-only": ("仅解码器", "解码器"),
    "architecture": ("架构", "结构"),
    "parameter": ("参数",),
    "parallel": ("并行",),
    "parallelize": ("并行",),
    "parallelism": ("并行",),
    "recurrent": ("循环",),
    "rnn": ("循环神经网络",),
    "gpu": ("GPU", "显卡"),
    "inference": ("推理",),
    "deployment": ("部署",),
    "deploy": ("部署",),
    "quantization": ("量化",),
    "distillation": ("蒸馏",),
    "compression": ("压缩",),
    "memory": ("记忆", "内存", "显存"),
    "planning": ("规划",),
    "plan": ("规划", "计划"),
    "agent": ("智能体", "代理", "Agent"),
    "tool": ("工具",),
    "action": ("动作", "行动"),
    "component": ("组件",),
    "module": ("模块",),
    "chain": ("链",),
    "framework": ("框架",),
    "evaluation": ("评测", "评估"),
    "benchmark": ("基准",),
    "next word": ("下一个词",),
    "next token": ("下一个词元", "下一个词"),
    "predict": ("预测",),
    "prediction": ("预测",),
    "world knowledge": ("世界知识",),
    "generation": ("生成",),
    "generate": ("生成",),
    "decoding": ("解码",),
    "sampling": ("采样",),
    "temperature": ("温度",),
    "context": ("上下文",),
    "context window": ("上下文窗口", "上下文长度"),
    "long context": ("长上下文",),
    "batch": ("批处理", "批"),
    "throughput": ("吞吐量",),
    "latency": ("延迟",),
    "cost": ("成本",),
    "efficiency": ("效率",),
    "success": ("成功",),
    "key": ("关键",),
    "advantage": ("优势", "优点"),
    "disadvantage": ("缺点", "劣势"),
    "limitation": ("局限", "缺点"),
    "difference": ("区别", "差异"),
    "definition": ("定义",),
    "history": ("历史", "发展"),
    "stage": ("阶段",),
    "step": ("步骤",),
    "labeler": ("标注员", "标注"),
    "annotator": ("标注员", "标注"),
    "label": ("标注", "标签"),
    "human": ("人类",),
    "bias": ("偏见",),
    "safety": ("安全",),
    "open source": ("开源",),
    "open-source": ("开源",),
    "multimodal": ("多模态",),
    "code": ("代码",),
    "math": ("数学",),
    "loss": ("损失",),
    "optimization": ("优化",),
    "gradient": ("梯度",),
    "learning rate": ("学习率",),
    "neural network": ("神经网络",),
    "machine learning": ("机器学习",),
    "deep learning": ("深度学习",),
    "natural language processing": ("自然语言处理",),
    "task": ("任务",),
    "generalization": ("泛化",),
    "generalize": ("泛化",),
    "capability": ("能力",),
    "ability": ("能力",),
    "model": ("模型",),
}

_PAIR_RE = re.compile(
    r"([\u4e00-\u9fff][\u4e00-\u9fff0-9A-Za-z\-]{1,15})\s*[（(]\s*"
    r"([A-Za-z][A-Za-z0-9 \-']{1,48}?)\s*(?:[,，;；/][^()（）]{0,40})?[)）]"
)
_WORD_RE = re.compile(r"[a-z0-9][a-z0-9'\-]*")
#: Words that end the lead-in before a term: "研究人员引入了检索增强生成" → "检索增强生成".
_BOUNDARY_RE = re.compile(
    r"通过|进行|使用|包括|称为|属于|关于|以及|[的了是和与或在将把对从为以被即由及到用等、，它]"
)


def normalize_english(text: str) -> str:
    """Lower-case, singularize each word crudely, and join with single spaces.

    Args:
        text: English words.

    Returns:
        The normalized phrase, e.g. ``"emergent abilities"`` → ``"emergent ability"``.
    """
    words = []
    for word in _WORD_RE.findall(text.lower()):
        if len(word) > 4 and word.endswith("ies"):
            word = word[:-3] + "y"
        elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
            word = word[:-1]
        words.append(word)
    return " ".join(words)


def mine_pairs(text: str) -> list[tuple[str, str]]:
    """Find ``中文术语（English term）`` pairs in a note.

    Args:
        text: Note text.

    Returns:
        ``(normalized_english, chinese)`` pairs.
    """
    pairs = []
    for zh, en in _PAIR_RE.findall(text):
        zh = _BOUNDARY_RE.split(zh)[-1][-10:]
        english = normalize_english(en)
        if len(zh) >= 2 and english and len(english) >= 3:
            pairs.append((english, zh))
    return pairs


def expand_query(query: str, glossary: Mapping[str, Iterable[str]]) -> list[str]:
    """Chinese terms for the English phrases of ``query``.

    Longer phrases win: once ``"instruction tuning"`` matches, its words are
    not matched again on their own.

    Args:
        query: The question.
        glossary: Normalized English phrase → Chinese terms.

    Returns:
        Distinct Chinese terms, in order of appearance; empty when the query
        has no English words the glossary knows.
    """
    words = normalize_english(query).split()
    if not words:
        return []
    longest = max((len(k.split()) for k in glossary), default=1)
    terms: list[str] = []
    used = [False] * len(words)
    for size in range(min(longest, len(words)), 0, -1):
        for start in range(len(words) - size + 1):
            if any(used[start : start + size]):
                continue
            phrase = " ".join(words[start : start + size])
            forms = [phrase, *base_forms(phrase)] if size == 1 else [phrase]
            known = next((form for form in forms if form in glossary), None)
            if known is not None:
                used[start : start + size] = [True] * size
                terms.extend(t for t in glossary[known] if t not in terms)
    return terms


#: Inflections and what replaces them, tried in order: "optimized" → "optimize".
_SUFFIXES = (("ied", "y"), ("ing", ""), ("ing", "e"), ("ed", ""), ("ed", "e"), ("ly", ""))


def base_forms(word: str) -> list[str]:
    """Uninflected candidates for an English word ("prompting" → "prompt", "prompte").

    Args:
        word: A lower-case word.

    Returns:
        Candidate base forms, most likely first; empty for an uninflected word.
    """
    forms = []
    for suffix, replacement in _SUFFIXES:
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and len(stem) >= 3:
            forms.append(stem + replacement)
            if not replacement and len(stem) >= 4 and stem[-1] == stem[-2]:
                forms.append(stem[:-1])  # "stopped" → "stop"
    return forms


def builtin_glossary() -> dict[str, list[str]]:
    """The built-in glossary with normalized English keys."""
    table: dict[str, list[str]] = {}
    for english, chinese in BUILTIN_GLOSSARY.items():
        table.setdefault(normalize_english(english), []).extend(chinese)
    return table
