"""Model adapters behind the LangChain interfaces: embeddings, chat models, bundled model files."""
