"""Prefect flows, one per pipeline stage (`python -m flows.<stage>`)."""
import os

# Before Prefect is imported: route llm_core's and the stages' log lines through
# Prefect's handlers (console and the UI), and keep telemetry off (offline runs).
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "llm_core,forja")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
