"""AI feedback on practices: prompts, LLM providers and durable jobs."""
