"""Pure text functions, no I/O: language detection, tokens and stopwords, the glossary."""
