"""Files in, chunks out: loaders, splitter, uploads, the ingest pipeline and repair."""
