"""export: the chat model as a Hugging Face folder.

    python -m flows.export

models/chat-hf/ loads with transformers' AutoModelForCausalLM and
AutoTokenizer (no custom code), and its tokenizer carries forja's chat
template, so `apply_chat_template` gives the same ids as llm_core.chat.
"""
from __future__ import annotations

import json
from pathlib import Path

from prefect import flow

from llm_core.chat import CHAT_TEMPLATE_JINJA
from llm_core.checkpoint import load_model
from llm_core.data.documents import sources_summary
from llm_core.export import export_hf
from llm_core.params.export import ExportParams

from .common import log, run_stage, stage_params, stage_timer, write_metrics, write_report

SRC = Path("models/chat")
OUT = Path("models/chat-hf")
SHARDS = Path("data/clean/shards")
# the figures a model card reports, from the stages' metrics
CARD_METRICS = {"pretrain": ["parameters", "tokens_seen", "steps"], "finetune": ["method", "steps", "examples_examples"],
                "evaluate": ["base_bits_per_byte", "chat_bits_per_byte", "xz_bits_per_byte", "chat_0shot_macro",
                             "chat_minus_best_base"]}


def card_facts() -> dict:
    """What the model card says beyond the config: its data, their licences, its scores."""
    data = {s: f"{r['documents']:,} documents ({r['lang']}); licence: {r['licence']}"
            for s, r in sources_summary(SHARDS).items()}
    scores = {}
    for stage, keys in CARD_METRICS.items():
        m = json.loads((Path("metrics") / f"{stage}.json").read_text())
        scores.update({f"{stage}: {k}": m[k] for k in keys if k in m})
    return {
        "name": "forja chat model",
        "description": "A small bilingual (Spanish, English) Llama-style chat model, pre-trained from scratch and "
                       "fine-tuned by forja's pipeline on the texts below. It is a teaching model: it completes "
                       "text and answers the built-in tasks, and it is not a source of facts.",
        "language": ["es", "en"], "license": "other",
        "license_name": "mixed: each training source keeps its own licence (see Training data)",
        "Training data (pre-training, after cleaning)": data,
        "Fine-tuning data": "forja's bilingual task suite built from that text and the aligned RV1909/KJV Bible "
                            "verses (public domain); chatterbot-corpus (BSD) and chitchat-dataset (MIT) conversations; "
                            "and the user's own chat files named in params.yaml (finetune.files).",
        "Evaluation (validation text and held-out tasks)": scores,
    }


REPORT = """# Export

`{out}/` ({mb:.1f} MB, {dtype}) is a Hugging Face Llama folder with a model card (`README.md`: the data,
their licences, the scores); transformers loads it with no custom code:

```python
from transformers import AutoModelForCausalLM, AutoTokenizer
tok = AutoTokenizer.from_pretrained("{out}")
model = AutoModelForCausalLM.from_pretrained("{out}")
inputs = tok.apply_chat_template([{{"role": "user", "content": "Hola"}}], add_generation_prompt=True,
                                 return_dict=True, return_tensors="pt")
out = model.generate(**inputs, max_new_tokens=40)
print(tok.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True))
```
"""


@flow(name="export", log_prints=True)
def export_flow() -> dict:
    import torch

    cfg: ExportParams = stage_params("export")
    dtype = cfg.dtype
    with stage_timer("export") as timer:
        model, ckpt = load_model(SRC)
        export_hf(model, ckpt.tokenizer_path, OUT, chat_template=CHAT_TEMPLATE_JINJA, dtype=getattr(torch, dtype),
                  model_card=card_facts())
    size = sum(f.stat().st_size for f in OUT.iterdir())
    metrics = {"bytes": size, "parameters": model.num_params(), "dtype": dtype, "seconds": timer["seconds"]}
    write_metrics("export", metrics)
    write_report("export", REPORT.format(out=OUT, mb=size / 1e6, dtype=dtype))
    log.info("read %s; wrote %s (%d files, %.1f MB)", SRC, OUT, len(list(OUT.iterdir())), size / 1e6)
    return metrics


def main() -> None:
    run_stage("export", lambda: stage_params("export"), export_flow)


if __name__ == "__main__":
    main()
