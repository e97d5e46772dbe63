"""Tests of this tier (see tests/conftest.py)."""
