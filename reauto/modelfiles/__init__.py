"""The model files the providers load: where they live, where they come from, and pulling them.

``reauto models list|pull|verify`` (:mod:`reauto.cli.models`) is built on
:mod:`~reauto.modelfiles.actions`; the providers find a pulled model by name through
:mod:`reauto.modelstore` (below the providers and the settings).
"""
