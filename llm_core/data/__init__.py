"""Data: sources, the default corpus, cleaning, dedup, shards, token files and batches."""
