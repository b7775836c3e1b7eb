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
# The faithful topology adds residual identity edges (w = 1): the block input and the attention
# sum carry on into the next block's input (or the output layer), and in a sequential block
# the input into the attention sum (attn_out). No learned matrix joins these kinds.
RESIDUAL_PAIRS: tuple[tuple[str, str], ...] = (
    ("input", "attn_out"), ("input", "input"), ("input", "output"), ("attn_out", "input"), ("attn_out", "output"),
)


def structural_pairs(topology: str) -> tuple[tuple[str, str], ...]:
    """(source kind, destination kind) pairs whose edges are structural in ``topology``."""
    return (STRUCTURAL_PAIR, *RESIDUAL_PAIRS) if topology == "faithful" else (STRUCTURAL_PAIR,)


def layer_position(kind: str, block: int, blocks: int) -> int:
    if kind == "output":
        return 5 * blocks
    return 5 * block + KIND_CODE[kind]

# Weight parts: which matrix (or part of a fused matrix, as the topology reads it) the learned
# edges INTO a neuron come from. Stored as Neuron.part where it is not the whole matrix; an
# edge's weight block is (source layer, destination layer, destination part).
PARTS: tuple[str, ...] = ("", "q", "k", "v", "gate", "up")
PART_CODE: dict[str, int] = {p: i for i, p in enumerate(PARTS)}
