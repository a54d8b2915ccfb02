"""Test configuration: the shared fixtures and helpers live in the ``tests.helpers`` plugin."""

pytest_plugins = ["tests.helpers"]
