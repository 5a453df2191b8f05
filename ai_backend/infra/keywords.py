"""BM25 sparse vectors that read zh-TW, Simplified Chinese and English alike.

Qdrant's multilingual tokenizer segments Chinese with a Simplified dictionary, so Traditional
text falls apart into single characters. Here text is first brought to one form: NFKC, lower
case, and OpenCC's `s2twp` (Simplified to Taiwan Traditional, with Taiwan's vocabulary: 软件 and
軟件 both become 軟體, 视频 becomes 影片). Han runs are then cut into character bigrams (the
words) and unigrams (so a one-character word still matches); other text goes through Qdrant's
word tokenizer with English stop words and stemming. The engine applies IDF at query time.

In a query, single characters count less than bigrams, and the commonest function characters
not at all, so a long question in plain words ranks what it asks for rather than what shares
its 一, 個 and 的. Display text is never changed: this is only what the index matches on.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from ai_backend.infra.vector_index import Sparse

# BM25's term-frequency saturation and length normalisation, and the document length (in
# terms) it normalises against: tuned on the dev sets (Traditional passages gain most from the
# long average; short paraphrases lose little). Part of the recipe: documents carry them.
K1, B, AVG_LEN = 0.9, 0.4, 256.0
# Bumped whenever the terms a text turns into change: the index must then be rebuilt.
RECIPE = "zh-bigrams-s2twp-v1"
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]+")
# Function characters that say nothing of a topic on their own (they still count inside
# bigrams, where IDF weighs them).
STOP_CHARACTERS = frozenset(
    "的了是在有和與及或也都就而但把被讓給對於這那個一不很要想會能可以之其為著嗎呢吧啊呀喔哦"
    "我你他她它們您自己什麼怎麼如何還再又才只些每各該從到向並且即"
)


class KeywordEncoder:
    """Text to BM25 term weights (documents) or term sets (queries)."""

    def __init__(
        self,
        *,
        language: str = "english",
        k: float = K1,
        b: float = B,
        avg_len: float = AVG_LEN,
        unigram_weight: float = 0.5,
    ) -> None:
        import opencc
        import qdrant_edge as qe

        self._to_taiwan = opencc.OpenCC("s2twp")
        config = qe.Bm25Config(
            k=k, b=b, avg_len=avg_len, tokenizer=qe.TokenizerType.Word, language=language
        )
        self._model = qe.Bm25(config)
        self.unigram_weight = unigram_weight
        # What documents' terms depend on (not the query-only unigram weight): an index built
        # with another recipe is rebuilt.
        self.recipe = f"{RECIPE} {language} k1={k:g} b={b:g} avg={avg_len:g}"
        self._canonical = lru_cache(maxsize=8192)(self._canonical_form)

    def _canonical_form(self, text: str) -> str:
        return str(self._to_taiwan.convert(unicodedata.normalize("NFKC", text).lower()))

    def split(self, text: str) -> tuple[str, list[str]]:
        """(the non-Han text, the Han runs) of `text`, in one script."""
        canonical = self._canonical(text)
        return _HAN.sub(" ", canonical), _HAN.findall(canonical)

    def document(self, text: str) -> Sparse:
        rest, runs = self.split(text)
        terms = [rest]
        for run in runs:
            terms.extend(run[i : i + 2] for i in range(len(run) - 1))
            terms.extend(run)
        vector = self._model.embed_document(" ".join(terms))
        return Sparse(indices=list(vector.indices), values=list(vector.values))

    def terms(self, text: str) -> frozenset[int]:
        """The terms a text is indexed under, for telling which field of a hit a query matched:
        its words and bigrams, and a character only where it stands alone."""
        rest, runs = self.split(text)
        words = [rest]
        for run in runs:
            words.extend([run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)])
        return frozenset(self._model.embed_document(" ".join(words)).indices)

    def query(self, text: str) -> Sparse:
        rest, runs = self.split(text)
        words = [rest]
        characters: set[str] = set()
        for run in runs:
            if len(run) == 1:
                if run not in STOP_CHARACTERS:
                    words.append(run)  # a word of its own (書, 茶) keeps its full weight
            else:
                words.extend(run[i : i + 2] for i in range(len(run) - 1))
                characters.update(run)
        weights: dict[int, float] = {}
        bm25 = self._model.embed_query(" ".join(words))
        for index, value in zip(bm25.indices, bm25.values, strict=True):
            weights[index] = float(value)
        characters -= STOP_CHARACTERS
        if characters and self.unigram_weight > 0:
            single = self._model.embed_query(" ".join(sorted(characters)))
            for index, value in zip(single.indices, single.values, strict=True):
                weights[index] = max(weights.get(index, 0.0), float(value) * self.unigram_weight)
        ordered = sorted(weights)
        return Sparse(indices=ordered, values=[weights[i] for i in ordered])
