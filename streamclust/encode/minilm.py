"""The packaged MiniLM sentence encoder, run with torch alone: its tokenizer, its BERT layers, mean pooling.

sentence-transformers runs the same checkpoint, but importing it (through transformers) takes 7-8 s on a 2-core
machine, longer than the teacher then spends embedding its warm-up posts. This module reads the same files
(``tokenizer.json`` through ``tokenizers``, ``model.safetensors`` through ``safetensors``, ``config.json``) and
gives the same vectors (``tests/core/test_core_minilm.py`` compares the two), in a fraction of a second.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from tokenizers import Tokenizer

MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
BATCH_SIZE = 64


@dataclass(frozen=True)
class BertShape:
    layers: int
    heads: int
    layer_norm_eps: float

    @classmethod
    def read(cls, folder: Path) -> BertShape:
        config = json.loads((folder / "config.json").read_text())
        if config.get("hidden_act", "gelu") != "gelu" or config.get("model_type") != "bert":
            raise ValueError(f"{folder}: only BERT models with GELU activations are supported")
        return cls(
            layers=int(config["num_hidden_layers"]),
            heads=int(config["num_attention_heads"]),
            layer_norm_eps=float(config["layer_norm_eps"]),
        )


class MiniLM:
    """Mean-pooled, L2-normalised BERT sentence vectors from a sentence-transformers model folder."""

    def __init__(self, folder: Path) -> None:
        self.shape = BertShape.read(folder)
        self.weights = load_file(str(folder / "model.safetensors"))
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """float32 [len(texts), 384]; batches of similar length, so that little padding is computed."""
        encodings = self.tokenizer.encode_batch(list(texts))
        order = np.argsort([len(encoding.ids) for encoding in encodings], kind="stable")
        vectors = np.zeros(
            (len(texts), self.weights["embeddings.word_embeddings.weight"].shape[1]), np.float32
        )
        with torch.inference_mode():
            for start in range(0, len(order), BATCH_SIZE):
                rows = order[start : start + BATCH_SIZE]
                ids, mask = padded([encodings[row].ids for row in rows])
                vectors[rows] = self.sentence_vectors(ids, mask).numpy()
        return vectors

    def sentence_vectors(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        hidden = self.token_vectors(ids, mask)
        kept = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * kept).sum(dim=1) / kept.sum(dim=1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=1)

    def token_vectors(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        w = self.weights
        positions = torch.arange(ids.shape[1])
        hidden = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][positions]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        hidden = self.layer_norm(hidden, "embeddings.LayerNorm")
        blocked = torch.zeros(mask.shape, dtype=hidden.dtype).masked_fill(~mask, -math.inf)[:, None, None, :]
        for layer in range(self.shape.layers):
            hidden = self.bert_layer(hidden, blocked, f"encoder.layer.{layer}.")
        return hidden

    def bert_layer(self, hidden: torch.Tensor, blocked: torch.Tensor, prefix: str) -> torch.Tensor:
        attended = self.attention(hidden, blocked, prefix + "attention.self.")
        hidden = self.layer_norm(
            hidden + self.linear(attended, prefix + "attention.output.dense"),
            prefix + "attention.output.LayerNorm",
        )
        inner = torch.nn.functional.gelu(self.linear(hidden, prefix + "intermediate.dense"))
        return self.layer_norm(
            hidden + self.linear(inner, prefix + "output.dense"), prefix + "output.LayerNorm"
        )

    def attention(self, hidden: torch.Tensor, blocked: torch.Tensor, prefix: str) -> torch.Tensor:
        rows, tokens, width = hidden.shape
        heads = self.shape.heads

        def split(name: str) -> torch.Tensor:
            return (
                self.linear(hidden, prefix + name).view(rows, tokens, heads, width // heads).transpose(1, 2)
            )

        context = torch.nn.functional.scaled_dot_product_attention(
            split("query"), split("key"), split("value"), attn_mask=blocked
        )
        return context.transpose(1, 2).reshape(rows, tokens, width)

    def linear(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return torch.nn.functional.linear(x, self.weights[name + ".weight"], self.weights[name + ".bias"])

    def layer_norm(self, x: torch.Tensor, name: str) -> torch.Tensor:
        w = self.weights
        return torch.nn.functional.layer_norm(
            x, x.shape[-1:], w[name + ".weight"], w[name + ".bias"], self.shape.layer_norm_eps
        )


def padded(token_ids: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids padded with 0 to the longest, and the mask of real tokens."""
    longest = max(len(ids) for ids in token_ids)
    ids = torch.zeros((len(token_ids), longest), dtype=torch.int64)
    mask = torch.zeros((len(token_ids), longest), dtype=torch.bool)
    for row, row_ids in enumerate(token_ids):
        ids[row, : len(row_ids)] = torch.tensor(row_ids, dtype=torch.int64)
        mask[row, : len(row_ids)] = True
    return ids, mask
