"""Passages in, a streamed cited answer out: chain, prompts, guards, citations, quotations."""
