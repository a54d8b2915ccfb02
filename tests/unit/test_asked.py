"""What a question asks for, and whether a passage holds it (the check before the LLM)."""

from __future__ import annotations

import re

from rag.retrieval.asked import (
    asked_types,
    asked_unit,
    attribute_words,
    holds_answer,
    read_value_parts,
    unit_value,
)

LANGCHAIN = "LangChain 是一个开源框架。它在 GitHub 上有 8 万多颗星。它支持 Python 和 JavaScript。"
CREATED = "LangChain 是一个开源框架。它由 Harrison Chase 于 2022 年创建。"
BERT = "BERT 的编码器有 12 层。"
BERT_RELEASE = "BERT 于 2018 年发布。它有 3.4 亿参数。"
#: A stand-in for the index's dictionary: English words → the notes' Chinese words.
WORDS = {"encoder": ["编码器"], "layers": ["层"], "retriever": ["检索器"]}


def translate(text: str) -> list[str]:
    return [zh for word in re.findall(r"[a-z]+", text.lower()) for zh in WORDS.get(word, [])]


def rarest(term: str) -> int:
    return {"retriever": 1}.get(term, 5)


def test_a_year_said_of_the_subject_in_another_respect_does_not_hold_when_it_was_created():
    part = "LangChain 是哪一年创建的"
    words = attribute_words(part, "langchain")
    assert words == ["创建"]
    assert not holds_answer(LANGCHAIN, ["time"], ["langchain"], attributes=words)


def test_a_year_beside_the_subject_and_what_is_asked_holds_it():
    part = "LangChain 是哪一年创建的"
    words = attribute_words(part, "langchain")
    assert holds_answer(CREATED, ["time"], ["langchain"], attributes=words)


def test_without_attribute_words_any_value_beside_the_subject_holds():
    assert holds_answer(LANGCHAIN, ["number"], ["langchain"])


def test_which_month_is_a_time_cue_not_an_attribute():
    part = "GPT-3 是哪年哪月发布的"
    assert asked_types(part) == ["time"]
    assert attribute_words(part, "gpt-3") == []


def test_the_example_a_question_points_at_is_not_what_it_asks_about():
    part = "用 CTransformers 跑 Llama-2 的例子里，temperature 设成多少"
    assert "例子" not in attribute_words(part, "ctransformers")


def test_a_count_the_question_states_is_not_what_it_asks_about():
    assert "两个" not in attribute_words("ChatGPT 上线两个月后用户数达到了多少", "chatgpt")


def test_english_questions_for_a_size_rate_or_value_ask_a_number():
    assert asked_types("What vocabulary size does the LLaMA tokenizer use?") == ["number"]
    assert asked_types("What learning rate was used to train GPT-2?") == ["number"]
    assert asked_types("What are the values of alignment?") == []


def test_which_version_or_model_asks_a_name_but_which_is_better_does_not():
    assert asked_types("这个项目推荐用哪个 Python 版本？") == ["name"]
    assert asked_types("哪个模型更好，为什么？") == []
    assert asked_types("它们分别是面向哪个领域的 LLaMA 模型？") == []


def test_what_dataset_metric_or_optimizer_asks_a_name():
    assert asked_types("Chroma 默认用什么距离度量？") == ["name"]
    assert asked_types("What optimizer was used to train LLaMA?") == ["name"]
    assert asked_types("什么是指标？") == []


def test_an_english_part_asks_for_what_its_other_words_are_in_the_notes():
    [part] = read_value_parts("How many layers does the BERT encoder have?", rarest, translate)
    assert (part.focus, part.attributes) == ("bert", ["编码器"])  # 层: one character is too common
    assert holds_answer(BERT, part.kinds, part.focus_forms, attributes=part.attributes)
    assert not holds_answer(BERT_RELEASE, part.kinds, part.focus_forms, attributes=part.attributes)


def test_an_english_focus_is_also_looked_for_as_the_notes_write_it():
    [part] = read_value_parts("How many parameters does the retriever have?", rarest, translate)
    assert part.focus_forms == ("retriever", "检索器")
    assert holds_answer("检索器有 1.1 亿参数。", part.kinds, part.focus_forms)


def test_a_chinese_part_keeps_its_own_words_and_focus():
    [part] = read_value_parts("LLaMA 的词表有多大？", rarest, translate)
    assert (part.attributes, part.focus_forms) == (["词表"], ("llama",))


def test_which_group_institution_or_paper_asks_who_or_a_name():
    assert asked_types("Which research group introduced GQA?") == ["who"]
    assert asked_types("Which institution created HELM?") == ["who"]
    assert asked_types("文献 [38] 是哪篇论文？") == ["name"]
    assert asked_types("重新创建 SSH 密钥要用什么命令？") == ["name"]


def test_a_possessive_does_not_hide_a_number_question():
    assert asked_types("What is GPT-2's maximum context length?") == ["number"]


def test_what_the_encoder_does_is_not_a_question_for_a_name():
    assert asked_types("What does the encoder produce?") == []
    assert asked_types("What encoder does LLaVA use?") == ["name"]


def test_a_parameter_count_is_asked_in_parameters():
    assert asked_unit("ChatGLM 的参数规模是多少") == "参数"
    assert asked_unit("GPT-1 有多少个参数") == "参数"
    assert asked_unit("BERT 有多少层") == "层"


def test_a_count_written_with_yi_before_its_unit_is_in_that_unit():
    assert unit_value("个").search("具有 1.17 亿个参数")
    assert not unit_value("个").search("具有 1.17 亿参数")


def test_generic_value_words_are_not_what_a_question_asks_about():
    assert attribute_words("Chinchilla 里 E 和 A 的取值分别是多少", "chinchilla") == []


def test_whats_the_size_or_length_asks_a_number():
    assert asked_types("What's the vocabulary size of the original LLaMA tokenizer?") == ["number"]
    assert asked_types("What’s the context length of GPT-3.5 Turbo?") == ["number"]


def test_a_loss_function_algorithm_or_dataset_name_is_asked_for():
    assert asked_types("RLHF 里的奖励模型是用什么损失函数训练的？") == ["name"]
    assert asked_types("RLHF 具体用的是哪种强化学习算法？") == ["name"]
    assert asked_types("蒸馏的时候用的损失函数是什么？") == ["name"]
    assert asked_types("它的预训练数据集叫什么？") == ["name"]
    assert asked_types("那篇 ICLR 论文的题目是什么？") == ["name"]
    assert asked_types("Which study questioned whether emergent abilities exist?") == ["name"]


def test_what_a_concept_is_called_asks_no_latin_name():
    assert asked_types("在提示里写明不要出现什么内容，这种技巧叫什么？") == []


def test_which_sizes_were_released_asks_a_number_of_parameters():
    assert asked_types("Qwen2 开源了哪几种参数规模？") == ["number"]
    assert asked_unit("Qwen2 开源了哪几种参数规模") == "参数"
    assert asked_unit("What sizes were released in the Qwen1.5 series") == "参数"


def test_a_count_of_something_named_is_asked_in_that_thing():
    assert asked_unit("原始 Transformer 用了几个注意力头") == "个注意力头"
    assert asked_unit("GPT-4 一共是由几个 MoE 模型组成的") == "个moe"
    assert asked_unit("Transformer 由几个部分组成") == "个"
    assert asked_unit("RAG 有几个主要步骤？") == "个"
    assert unit_value("个注意力头").search("它有 8 个注意力头")
    assert not unit_value("个注意力头").search("编码器和解码器两个部分")


def test_a_counted_thing_may_be_written_by_its_last_character():
    assert unit_value("个注意力头").search("多头注意力用了 8 个头")


def test_a_part_that_names_nothing_asks_about_what_the_part_before_named():
    first, second = read_value_parts("文心一言是哪家公司开发的？什么时候发布的？", rarest)
    assert (first.focus, second.focus) == ("文心", "文心")


def test_who_published_it_wants_the_deed_beside_the_name():
    assert attribute_words("HELM 评测体系是哪个机构发布的", "helm") == ["发布", "推出", "开源"]
    assert attribute_words("是哪个机构提出的", None) == ["提出"]


def test_what_kind_of_thing_something_is_or_why_it_is_needed_asks_no_name():
    assert asked_types("PPO 是什么算法？") == []
    assert asked_types("交叉熵是什么损失函数？") == []
    assert asked_types("为什么需要损失函数？") == []
    assert asked_types("这种框架叫什么？") == []


def test_cue_words_inside_other_words_ask_nothing():
    assert asked_types("这个问题目前有哪些解决办法？") == []
    assert asked_types("怎么提取几何特征？") == []
    assert asked_types("What's the difference between batch size and epoch?") == []


def test_which_studies_asks_a_name():
    assert asked_types("Which studies questioned emergent abilities?") == ["name"]


def test_who_developed_and_released_it_wants_the_first_deed():
    stems = ["开发", "研发", "推出", "打造"]
    assert attribute_words("这个模型是哪个机构开发并发布的", None) == stems
