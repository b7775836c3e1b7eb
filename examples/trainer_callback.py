"""Live NeuroMFA in your own transformers Trainer: alpha_0, width and E in the trainer's logs
every N steps (TensorBoard and W&B read them there). Tested by tests/test_integrations.py.

    python examples/trainer_callback.py OUT_DIR     # offline: a tiny GPT-NeoX on random tokens
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from transformers import GPTNeoXConfig, GPTNeoXForCausalLM, Trainer, TrainerCallback, TrainingArguments

from neuromfa.integrations import NeuroMFACallback


class TokenWindows(torch.utils.data.Dataset):
    """Random token windows (a stand-in for your dataset)."""

    def __init__(self, n: int = 64, length: int = 16, vocab: int = 64):
        self.ids = torch.randint(0, vocab, (n, length), generator=torch.Generator().manual_seed(0))

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.ids[i], "labels": self.ids[i]}


def train(out_dir: str | Path, steps: int = 4, every: int = 2, callbacks: list[TrainerCallback] | None = None) -> Trainer:
    torch.manual_seed(0)
    model = GPTNeoXForCausalLM(GPTNeoXConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                             intermediate_size=128, vocab_size=64, max_position_embeddings=32))
    args = TrainingArguments(output_dir=str(out_dir), max_steps=steps, per_device_train_batch_size=8, logging_steps=1,
                             save_strategy="no", report_to="none", use_cpu=True, disable_tqdm=True)
    # --- the lines a user adds to their own Trainer --------------------------------------------------
    trainer = Trainer(model=model, args=args, train_dataset=TokenWindows(), callbacks=callbacks)
    live = NeuroMFACallback(every=every, samples=2, k=8, min_mass=3)  # every N steps; step 0 is E's reference
    live.attach(trainer)  # first among the callbacks, so TensorBoard / W&B see its values
    trainer.train()
    # live.history: one LiveMetrics per evaluation; trainer.state.log_history holds neuromfa/* too
    # --------------------------------------------------------------------------------------------------
    return trainer


if __name__ == "__main__":
    done = train(sys.argv[1] if len(sys.argv) > 1 else "trainer-callback-out")
    for row in done.state.log_history:
        if "neuromfa/E" in row:
            print(f"step {row['step']}: alpha_0 {row['neuromfa/alpha0']:.4f}, width {row['neuromfa/width']:.4f}, E {row['neuromfa/E']:+.4f}")
