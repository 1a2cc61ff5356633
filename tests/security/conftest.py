"""Security test fixtures: the end-to-end simulator fixture, shared with tests/e2e."""

from tests.e2e.conftest import make_sim

__all__ = ["make_sim"]
