"""Everything under VECTORSTORE_DIR, and the only code that touches chromadb."""
