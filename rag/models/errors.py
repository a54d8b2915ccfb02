"""Errors of the model adapters."""

from __future__ import annotations


class LLMConfigError(ValueError):
    """The LLM settings cannot work (missing file, missing key ...)."""
