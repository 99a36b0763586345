"""The Adam optimizer, step for step what ``torch.optim.Adam`` does on the CPU with its defaults.

Why not ``torch.optim.Adam`` itself: its first use imports ``torch._dynamo``, which costs 2-4 s of every process
that trains a model (a short ``streamclust eval`` spends more time on that import than on training). This is the
single-tensor update torch runs on the CPU (no weight decay, no AMSGrad), so the models it trains are the same
to the last bit; ``tests/core/test_core_adam.py`` holds it to that.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class AdamMoments:
    """What Adam keeps for one parameter: the running means of its gradient and of the gradient's square."""

    mean: torch.Tensor
    square_mean: torch.Tensor
    steps: int = 0


@dataclass
class Adam:
    """Adam over ``params`` (tensors that require a gradient); ``zero_grad`` drops the gradients, as torch's
    default does, and ``step`` moves every parameter that has one."""

    params: list[torch.Tensor]
    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    moments: dict[int, AdamMoments] = field(default_factory=dict)

    def zero_grad(self) -> None:
        for param in self.params:
            param.grad = None

    @torch.no_grad()
    def step(self) -> None:
        for number, param in enumerate(self.params):
            grad = param.grad
            if grad is None:
                continue
            moments = self.moments.get(number)
            if moments is None:
                moments = AdamMoments(torch.zeros_like(param), torch.zeros_like(param))
                self.moments[number] = moments
            moments.steps += 1
            moments.mean.lerp_(grad, 1 - self.beta1)
            moments.square_mean.mul_(self.beta2).addcmul_(grad, grad, value=1 - self.beta2)
            step_size = self.lr / (1 - self.beta1**moments.steps)
            bias_correction2_sqrt = (1 - self.beta2**moments.steps) ** 0.5
            denominator = (moments.square_mean.sqrt() / bias_correction2_sqrt).add_(self.eps)
            param.addcdiv_(moments.mean, denominator, value=-step_size)
