"""Large-language-model clients (Ollama) for the conversation agent.

``REGISTRY`` builds the client ``[llm] brain`` names (``scripted`` needs none), as every provider
family is built: by name from :mod:`reauto.providercatalog`, imported on demand, with the
provider's own ``from_settings``.
"""

from reauto import providercatalog
from reauto.providers import Registry

REGISTRY: Registry[object] = Registry(providercatalog.KINDS["llm"], providercatalog.LLM)

__all__ = ["REGISTRY"]
