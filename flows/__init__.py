"""Prefect flows, one per pipeline stage (`python -m flows.<stage>`)."""
import os

# Before Prefect is imported: route llm_core's and the stages' log lines through
# Prefect's handlers (console and the UI), and keep telemetry off (offline runs).
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "llm_core,forja")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# A stage without a running server starts a temporary one; on a busy 2-core machine that has
# taken longer than Prefect's 20 s default and failed the stage, so allow it 90 s.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
