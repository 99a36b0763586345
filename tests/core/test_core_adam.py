"""Our Adam moves parameters exactly as torch.optim.Adam does, so training with it changes no model."""

from __future__ import annotations

import torch
from torch import nn

from streamclust.encode.adam import Adam


def small_model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(12, 8), nn.Tanh(), nn.Linear(8, 3))


def train(model: nn.Module, make_optimizer: str, steps: int) -> list[torch.Tensor]:
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = Adam(params, lr=2e-3) if make_optimizer == "ours" else torch.optim.Adam(params, lr=2e-3)
    data = torch.Generator().manual_seed(7)
    for _ in range(steps):
        inputs = torch.randn(16, 12, generator=data)
        target = torch.randn(16, 3, generator=data)
        loss = ((model(inputs) - target) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return [p.detach().clone() for p in model.parameters()]


def test_thirty_steps_leave_the_same_parameters_to_the_last_bit() -> None:
    ours = train(small_model(seed=3), "ours", steps=30)
    theirs = train(small_model(seed=3), "torch", steps=30)
    for mine, reference in zip(ours, theirs, strict=True):
        assert torch.equal(mine, reference)


def test_the_parameters_do_move() -> None:
    before = [p.detach().clone() for p in small_model(seed=3).parameters()]
    after = train(small_model(seed=3), "ours", steps=3)
    assert all(not torch.equal(b, a) for b, a in zip(before, after, strict=True))


def test_a_parameter_without_a_gradient_is_left_alone() -> None:
    used = nn.Parameter(torch.ones(4))
    unused = nn.Parameter(torch.ones(4))
    optimizer = Adam([used, unused], lr=0.1)
    (used * torch.arange(4.0)).sum().backward()
    optimizer.step()
    assert torch.equal(unused.detach(), torch.ones(4))
    assert not torch.equal(used.detach(), torch.ones(4))
    optimizer.zero_grad()
    assert used.grad is None
