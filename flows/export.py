"""export: the chat model as a Hugging Face folder.

    python -m flows.export

models/chat-hf/ loads with transformers' AutoModelForCausalLM and
AutoTokenizer (no custom code), and its tokenizer carries forja's chat
template, so `apply_chat_template` gives the same ids as llm_core.chat.
"""
from __future__ import annotations

from pathlib import Path

from prefect import flow

from llm_core.chat import CHAT_TEMPLATE_JINJA
from llm_core.checkpoint import load_model
from llm_core.export import export_hf

from .common import check_keys, load_params, log, setup_logging, stage_timer, write_metrics, write_report

SRC = Path("models/chat")
OUT = Path("models/chat-hf")
DTYPES = {"float32", "bfloat16", "float16"}


REPORT = """# Export

`{out}/` ({mb:.1f} MB, {dtype}) is a Hugging Face Llama folder; transformers loads it with no custom code:

```python
from transformers import AutoModelForCausalLM, AutoTokenizer
tok = AutoTokenizer.from_pretrained("{out}")
model = AutoModelForCausalLM.from_pretrained("{out}")
ids = tok.apply_chat_template([{{"role": "user", "content": "Hola"}}], add_generation_prompt=True, return_tensors="pt")
out = model.generate(**ids, max_new_tokens=40) if hasattr(ids, "keys") else model.generate(ids, max_new_tokens=40)
```
"""


@flow(name="export", log_prints=True)
def export_flow() -> dict:
    import torch

    p = load_params("export")
    check_keys("export", p, {"dtype"})
    dtype = p.get("dtype", "float32")
    if dtype not in DTYPES:
        raise ValueError(f"export.dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
    with stage_timer("export") as timer:
        model, ckpt = load_model(SRC)
        export_hf(model, ckpt.tokenizer_path, OUT, chat_template=CHAT_TEMPLATE_JINJA, dtype=getattr(torch, dtype))
    size = sum(f.stat().st_size for f in OUT.iterdir())
    metrics = {"bytes": size, "parameters": model.num_params(), "dtype": dtype, "seconds": timer["seconds"]}
    write_metrics("export", metrics)
    write_report("export", REPORT.format(out=OUT, mb=size / 1e6, dtype=dtype))
    log.info("read %s; wrote %s (%d files, %.1f MB)", SRC, OUT, len(list(OUT.iterdir())), size / 1e6)
    return metrics


def main() -> None:
    setup_logging()
    export_flow()


if __name__ == "__main__":
    main()
