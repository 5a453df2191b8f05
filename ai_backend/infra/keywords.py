"""BM25 sparse vectors from Qdrant's own tokenizer; the engine applies IDF at query time."""

from __future__ import annotations

from ai_backend.infra.vector_index import Sparse


class KeywordEncoder:
    """Tokenises mixed zh-TW/English text (the multilingual tokenizer segments Chinese words)."""

    def __init__(self, *, language: str = "english", k: float = 1.2, b: float = 0.75) -> None:
        import qdrant_edge as qe

        config = qe.Bm25Config(k=k, b=b, tokenizer=qe.TokenizerType.Multilingual, language=language)
        self._model = qe.Bm25(config)

    def document(self, text: str) -> Sparse:
        vector = self._model.embed_document(text)
        return Sparse(indices=list(vector.indices), values=list(vector.values))

    def query(self, text: str) -> Sparse:
        vector = self._model.embed_query(text)
        return Sparse(indices=list(vector.indices), values=list(vector.values))
