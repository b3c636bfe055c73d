"""Benchmarks: forja's llm_core against Hugging Face transformers on the same weights.

Run each as a module, e.g. `python -m bench.train_throughput --quick`; see bench/README.md.
"""
