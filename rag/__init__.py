"""notes-qa: question answering over a student's study notes (RAG with Chroma + LangChain)."""

__version__ = "0.1.0"
