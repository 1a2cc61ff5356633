"""The local tool's one error type."""

from __future__ import annotations


class RunError(Exception):
    """A local run could not start (or go on); the message says what to change, in one line."""
