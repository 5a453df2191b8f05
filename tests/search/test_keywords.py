"""Keywords read Traditional, Simplified and Taiwan vocabulary alike, and weigh terms sensibly."""

from __future__ import annotations

import pytest

from ai_backend.infra.keywords import KeywordEncoder

KEYWORDS = KeywordEncoder()


def shared(query: str, document: str) -> set[int]:
    return set(KEYWORDS.query(query).indices) & set(KEYWORDS.document(document).indices)


@pytest.mark.parametrize(
    ("mainland", "taiwan"),
    [
        ("软件", "軟體"),
        ("视频", "影片"),
        ("网络", "網路"),
        ("程序", "程式"),
        ("数据", "資料"),
        ("可视化", "視覺化"),
        ("学习", "學習"),
    ],
)
def test_each_script_and_vocabulary_finds_the_other(mainland: str, taiwan: str) -> None:
    assert shared(mainland, f"一門關於{taiwan}的課") == set(KEYWORDS.query(mainland).indices)
    assert shared(taiwan, f"一门关于{mainland}的课") == set(KEYWORDS.query(taiwan).indices)


def test_chinese_is_cut_into_bigrams_and_english_into_words() -> None:
    rest, runs = KEYWORDS.split("React 前端開發，Learning TypeScript")
    assert runs == ["前端開發"]
    assert "react" in rest
    assert "typescript" in rest
    assert shared("開發", "前端開發")
    assert shared("learn", "learning React")
    # Word order matters inside a bigram: only the characters are shared.
    characters = set(KEYWORDS.document("端").indices) | set(KEYWORDS.document("開").indices)
    assert shared("端開", "開發前端") == characters


def test_function_characters_do_not_carry_a_long_question() -> None:
    question = "我想準備日文檢定，但一個人讀不下去"
    for character in "我想但一個不":
        assert not shared(question, character), character
    # A content character still counts, less than a bigram; a lone one counts in full.
    query = KEYWORDS.query(question)
    weights = dict(zip(query.indices, query.values, strict=True))
    (bigram,) = set(KEYWORDS.document("日文").indices) - set(KEYWORDS.document("日 文").indices)
    (character,) = KEYWORDS.document("讀").indices
    assert weights[bigram] == 1.0
    assert weights[character] == KEYWORDS.unigram_weight < 1.0
    assert KEYWORDS.query("書").values == [1.0]


def test_text_that_says_nothing_has_no_terms() -> None:
    assert KEYWORDS.query("，。！").indices == []
    assert KEYWORDS.query("的").indices == []


def test_the_recipe_names_what_documents_depend_on() -> None:
    # A different stemmer or BM25 setting changes every document's terms: a new recipe, so the
    # index's layout changes and it is rebuilt. The query-only unigram weight does not.
    assert KeywordEncoder(language="german").recipe != KEYWORDS.recipe
    assert KeywordEncoder(b=0.75).recipe != KEYWORDS.recipe
    assert KeywordEncoder(unigram_weight=0.3).recipe == KEYWORDS.recipe
