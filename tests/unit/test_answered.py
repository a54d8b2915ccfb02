"""The after-the-answer check: a value question is answered only with a value the notes give."""

from __future__ import annotations

from rag.answer.answered import answer_values, echoes_question, unanswered_parts

GPT2 = "2019 年初,OpenAI 提出了 GPT-2。2019 年 11 月,OpenAI 发布了完整版的 GPT-2 模型。"
#: Two products in one passage, far enough apart that a value of one is not the other's.
PRODUCTS = (
    "通义千问是阿里巴巴研发的大模型。它支持多轮对话。它能写代码。它能做摘要。它也能翻译。"
    "文心一言是一款中文大模型。它也支持多轮对话。"
)
PAPER = "谷歌2017年发表论文《Attention Is All You Need》。这篇论文提出了 Transformer。"


def one(term: str) -> int:
    return 1


def test_a_value_the_passage_gives_beside_the_subject_answers():
    answer = "完整版的 GPT-2 在 2019 年 11 月发布[1]。"
    assert unanswered_parts(answer, [GPT2], "完整版的 GPT-2 是什么时候发布的？", one) == []


def test_a_value_said_of_something_else_does_not_answer():
    answer = "文心一言由阿里巴巴研发[1]。"
    question = "文心一言是哪家公司开发的？"
    assert unanswered_parts(answer, [PRODUCTS], question, one) == ["文心一言是哪家公司开发的"]


def test_a_role_the_passage_never_states_is_not_answered_by_a_name_in_it():
    answer = "《Attention Is All You Need》的第一作者是谷歌[1]。"
    question = "《Attention Is All You Need》的第一作者是谁？"
    assert unanswered_parts(answer, [PAPER], question, one) == [
        "《Attention Is All You Need》的第一作者是谁"
    ]


def test_an_english_question_is_answered_by_a_value_beside_the_chinese_subject():
    answer = "The retriever has 1.1 亿 parameters [1]."
    passage = "检索器有 1.1 亿参数。生成器更大。"
    question = "How many parameters does the retriever have?"
    rarest = {"retriever": 1}.get
    assert unanswered_parts(answer, [passage], question, rarest) == [question.rstrip("?")]
    assert unanswered_parts(answer, [passage], question, rarest, lambda text: ["检索器"]) == []


def test_an_answer_without_a_value_does_not_answer():
    passage = "Retrieval:根据语义的相似性检索与问题最相关的前k个块。"
    answer = "检索时返回与问题最相关的前k个块[1]。"
    question = "RAG 检索时返回前 k 个块，这个 k 一般取多少？"
    assert unanswered_parts(answer, [passage], question, one) == [question.rstrip("？")]


def test_a_number_in_another_unit_does_not_answer():
    passage = "GPT-1 的架构包括一个解码器,具有 1.17 亿个参数。"
    answer = "GPT-1 有 1.17 亿个参数[1]。"
    assert unanswered_parts(answer, [passage], "GPT-1 的解码器有多少层？", one) == [
        "GPT-1 的解码器有多少层"
    ]


def test_only_the_unanswered_part_of_a_two_part_question_is_named():
    answer = "GPT-2 在 2019 年初提出[1]。"
    question = "GPT-2 是哪一年提出的？是谁创建的？"
    assert unanswered_parts(answer, [GPT2], question, one) == ["是谁创建的"]


def test_questions_that_ask_no_value_are_never_unanswered():
    assert unanswered_parts("随便说说[1]。", [GPT2], "GPT-2 是什么？", one) == []


def test_values_leave_out_the_question_words_section_numbers_and_the_quote_label():
    values = answer_values("笔记原文：“1.2.1 GPT-2 有 15 亿参数”[1]", "GPT-2 有多少参数？")
    assert values["number"] == ["15"]
    assert values["who"] == []


def test_another_item_of_the_list_the_subject_is_in_does_not_answer():
    passage = "常见的垂域 LLaMA 模型有 BenTsao(医学)、LAWGPT(法律)、TaoLi(教育)等。"
    answer = "BenTsao 用 LAWGPT 和 TaoLi 微调[1]。"
    question = "BenTsao 医学模型是用什么数据集微调的？"
    assert unanswered_parts(answer, [passage], question, {"bentsao": 1}.get) == [
        question.rstrip("？")
    ]


def test_a_formulas_letters_and_the_question_terms_translation_are_not_names():
    values = answer_values(
        "指令微调(Instruction Tuning)的损失是 L(N,D)[1]。", "指令微调用什么损失函数？"
    )
    assert values["name"] == []


def test_an_answer_that_only_repeats_the_question_echoes_it():
    question = "检索的时候这个 k 一般取几？"
    assert echoes_question("1. 检索的时候 k 一般取几？[2]", question)
    assert not echoes_question("检索时 k 一般取 5[1]。", question)


def test_a_short_answer_with_a_word_of_its_own_is_an_answer():
    assert not echoes_question("谷歌[1]", "BERT 是谁提出的？")
    assert not echoes_question("“12 层”[1]", "BERT 有多少层？")


def test_repeating_a_yes_no_or_either_or_question_answers_it():
    assert not echoes_question("可以结合使用[1]。", "RAG 和微调可以结合使用吗？")
    assert not echoes_question("RAG[1]。", "这种情况该用 RAG 还是微调？")


def test_a_named_thing_in_parentheses_after_its_kind_is_a_value():
    values = answer_values(
        "BenTsao 用医学知识图谱数据集(CMeKG)微调[1]。", "BenTsao 用的是什么数据集？"
    )
    assert values["name"] == ["CMeKG"]


def test_a_number_in_a_list_of_sizes_is_a_value_not_a_sibling():
    passage = "LLaMA 有 7B、13B、33B、65B 四种参数规模。"
    question = "LLaMA 最大的版本有多少参数？"
    assert unanswered_parts("最大的是 65B[1]。", [passage], question, {"llama": 1}.get) == []
