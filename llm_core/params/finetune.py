"""The `finetune` section: the data mix, full or LoRA fine-tuning, and its training."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Literal

from ..config import FieldError, TrainConfig, check_limits
from ..lora import LoRAConfig
from ..tasks.items import TASKS
from .common import OnError
from .launch import LaunchParams


@dataclass(frozen=True)
class TaskParams:
    """The built-in bilingual task suite (llm_core.tasks)."""

    seed: int = 7
    # one number for every task, or a count per task (a task left out gets none)
    n_train_per_task: int | dict[str, int] = field(default_factory=lambda: {
        "repeat": 40000, "which_is_longer": 10000, "reverse_words": 8000, "count_words": 8000,
        "translate": 8000, "arithmetic": 8000, "next_words": 3000, "lang_id": 2000})
    n_heldout_per_task: int = 50
    # multi-turn: conversations of two or three train items, half ending in a follow-up on
    # the last answer (llm_core.tasks.dialogues); the held-out ones (three items, then a
    # follow-up) are made from held-out items only, for the evaluate stage
    dialogues: int = 6000
    dialogues_heldout: int = 102

    LIMITS = {"n_heldout_per_task": "> 0", "dialogues": ">= 0", "dialogues_heldout": ">= 0"}

    def __post_init__(self) -> None:
        check_limits(self)
        counts = self.n_train_per_task
        for task, n in (counts.items() if isinstance(counts, dict) else [("", counts)]):
            key = f"n_train_per_task.{task}" if task else "n_train_per_task"
            if task and task not in TASKS:
                close = difflib.get_close_matches(task, TASKS, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise FieldError(key, f"no such task.{hint} Tasks: {', '.join(TASKS)}")
            if n < 0:
                raise FieldError(key, f"must be >= 0, got {n}")


@dataclass(frozen=True)
class ConversationParams:
    """Conversations that ship inside PyPI packages."""

    chatterbot_es: bool = True
    chatterbot_en: bool = True
    chitchat_max: int = 300  # 0: none
    # forja's own greetings, small talk and FAQ (llm_core.data.smalltalk), es and en: how many
    # times each goes in (a few hundred among ~80k task items would barely be seen); 0: none
    smalltalk: int = 4
    smalltalk_heldout: float = 0.2  # share of phrasings kept out, for the evaluate stage

    LIMITS = {"chitchat_max": ">= 0", "smalltalk": ">= 0", "smalltalk_heldout": "[0, 1)"}

    def __post_init__(self) -> None:
        check_limits(self)


@dataclass(frozen=True)
class ChatFile:
    """One of the user's chat data files (`finetune.files`)."""

    path: str
    format: Literal["auto", "openai", "alpaca", "sharegpt"] = "auto"


@dataclass(frozen=True)
class FinetuneParams:
    method: Literal["full", "lora"] = "full"  # lora: adapters merged into the weights at the end
    lora: LoRAConfig = LoRAConfig()
    tasks: TaskParams = TaskParams()
    conversations: ConversationParams = ConversationParams()
    files: tuple[ChatFile | str, ...] = ()  # a path alone means format auto
    on_error: OnError = "skip"
    val_every: int = 50  # every n-th example measures validation loss
    pack: bool = True  # several examples per row, kept apart by the attention mask
    train: TrainConfig = TrainConfig(max_steps=1200, seq_len=128, lr=0.004, min_lr=0.0004, warmup_steps=20,
                                     weight_decay=0.0, eval_interval=200, checkpoint_interval=200)
    launch: LaunchParams = LaunchParams()  # one process, or torchrun over GPUs and machines

    LIMITS = {"val_every": ">= 2"}

    def __post_init__(self) -> None:
        check_limits(self)
        files = tuple(ChatFile(path=f) if isinstance(f, str) else f for f in self.files)
        object.__setattr__(self, "files", files)

    def check_context(self, max_seq_len: int) -> None:
        """The base model's window bounds an example: seq_len tokens plus the shifted target."""
        if self.train.seq_len > max_seq_len:
            raise FieldError("train.seq_len", f"({self.train.seq_len}) exceeds the base model's context "
                             f"({max_seq_len} tokens, pretrain.model.max_seq_len)")
