"""forja's library: plain PyTorch, one module per concern (see README: What is in llm_core)."""
