"""Helpers for the project's tests: real Kafka, real PostgreSQL, SQLite files.

Loaded as a pytest plugin by the root `conftest.py`; nothing here runs in production.
"""
