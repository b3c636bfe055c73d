"""The pipeline's settings: one typed, frozen config per params.yaml section.

    collect, clean, split, tokenizer, tokenize, pretrain, finetune, evaluate, export
    sweep (read by `make sweep`, no stage)

Each section has its own module here (`llm_core.params.pretrain.PretrainParams`),
so a stage imports only its own section's types and their library modules: DVC
then reruns a stage only when code it really uses changed. A stage opens with
one call, `load_section(name, params_dict, where)`, which checks every key, type,
choice and range of its section before any work starts (and before the stage
clears its previous output), naming the key that is wrong.

The dataclass defaults are the values params.yaml ships, so a key left out
means what the shipped file says (tests/test_params.py holds the two equal);
nothing else in the code holds a default for a setting. The dashboard reads
these types to show what a run used. llm_core never reads params.yaml itself:
the caller parses the YAML and hands the plain dict here.
"""
from __future__ import annotations

import importlib
from typing import Any

from ..config import ConfigError, from_dict

# section -> (module in this package, class); imported on demand, see above
SECTIONS: dict[str, tuple[str, str]] = {
    "collect": ("collect", "CollectParams"), "clean": ("clean", "CleanParams"), "split": ("split", "SplitParams"),
    "tokenizer": ("tokenizer", "TokenizerParams"), "tokenize": ("tokenize", "TokenizeParams"),
    "pretrain": ("pretrain", "PretrainParams"), "finetune": ("finetune", "FinetuneParams"),
    "evaluate": ("evaluate", "EvaluateParams"), "export": ("export", "ExportParams"),
    "sweep": ("sweep", "SweepParams"),  # no stage's: `make sweep` (flows/sweep.py)
}


def section_type(name: str) -> type:
    module, cls = SECTIONS[name]
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)


def load_section(name: str, params: dict[str, Any], where: str = "params.yaml") -> Any:
    """The typed config of section `name` of the parsed params file `params`."""
    if name not in SECTIONS:
        raise ConfigError(f"{where}: no stage section {name!r}; sections: {', '.join(SECTIONS)}")
    if not isinstance(params, dict):
        raise ConfigError(f"{where}: expected a mapping of sections, got {type(params).__name__}")
    if name not in params:
        raise ConfigError(f"{where}: no section {name!r}; it has {', '.join(map(str, params)) or 'nothing'}")
    data, cls = params[name], section_type(name)
    check = getattr(cls, "check_raw", None)
    if check and isinstance(data, dict):
        check(data, f"{where}: {name}")
    return from_dict(cls, data, where=f"{where}: {name}")
