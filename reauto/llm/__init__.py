"""Large-language-model clients (Ollama) for the conversation agent."""
