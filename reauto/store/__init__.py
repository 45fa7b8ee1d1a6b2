"""Persistence: engine, typed models and repositories (SQLAlchemy 2, async)."""
