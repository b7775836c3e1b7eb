"""Layer kinds shared by every architecture (docs/method.md section 1).

Per block the chain is input -> qkv -> context -> attn_out -> mlp_hidden -> next block's input;
after the last block comes ``output``. Layer position ``5 * block + KIND_POS[kind]``; the final
``output`` layer has position ``5 * blocks`` and block ``blocks - 1``.
"""

KINDS: tuple[str, ...] = ("input", "qkv", "context", "attn_out", "mlp_hidden", "output")
KIND_CODE: dict[str, int] = {k: i for i, k in enumerate(KINDS)}
BLOCK_KINDS: tuple[str, ...] = KINDS[:5]

# Edges between these kinds are structural (attention mixing, weight exactly 1), not learned.
STRUCTURAL_PAIR = ("qkv", "context")


def layer_position(kind: str, block: int, blocks: int) -> int:
    if kind == "output":
        return 5 * blocks
    return 5 * block + KIND_CODE[kind]

# Weight parts: which matrix (or part of a fused matrix, as the topology reads it) the learned
# edges INTO a neuron come from. Stored as Neuron.part where it is not the whole matrix; an
# edge's weight block is (source layer, destination layer, destination part).
PARTS: tuple[str, ...] = ("", "q", "k", "v", "gate", "up")
PART_CODE: dict[str, int] = {p: i for i, p in enumerate(PARTS)}
