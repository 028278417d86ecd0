"""Where a run's tensors live: ``run.device`` (``cpu``, ``cuda`` or ``cuda:N``).

A run on a GPU builds every network, buffer and random generator on that device and keeps the
environment on the CPU: observations cross to the device when they enter a policy or a buffer,
actions cross back when they leave. The mechanism is torch's default device (``with
torch.device(...)``) around the algorithm's ``train``, so algorithms and components create their
tensors as on a CPU, with no ``device=`` argument threaded through every call; only the places
where a tensor meets numpy (``.cpu().numpy()``) or a random generator is made (:func:`seeded_generator`)
name the device.

On ``cpu`` nothing changes: no default-device context is entered (it would add a Python call to
every torch operation). The same seed gives different numbers on ``cuda`` (other random
generators, other kernels); compare runs on one device. Checkpoints are saved from and loaded onto
the CPU first, so a run can be resumed on another device; its random streams then restart from a
seed derived from the saved ones (a GPU generator's state is not a CPU generator's).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from typing import Iterator

import torch

from mbrl_zoo.errors import UserError

DEVICE_PATTERN = re.compile(r"cpu|cuda(:\d+)?")


def check_device(name: str) -> torch.device:
    """The torch device ``name`` stands for, when this machine has it; otherwise a
    :class:`UserError` that says what it has."""
    if not DEVICE_PATTERN.fullmatch(name):
        raise UserError(f"run.device={name!r} is not a device: use 'cpu', 'cuda' or 'cuda:N'.")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(f"run.device={name!r} is not available: this torch ({torch.__version__}) sees no CUDA "
                            "GPU on this machine; use run.device=cpu (the default).")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise UserError(f"run.device={name!r} is not available: this machine has {count} CUDA GPU(s), "
                            f"cuda:0 to cuda:{count - 1}.")
    return device


@contextlib.contextmanager
def on_device(name: str) -> Iterator[None]:
    """Make ``name`` torch's default device inside the block (nothing to do for ``cpu``)."""
    if torch.device(name).type == "cpu":
        yield
        return
    with torch.device(name):
        yield


def seeded_generator(seed: int) -> torch.Generator:
    """A torch generator seeded with ``seed`` on the current default device."""
    return torch.Generator(device=torch.get_default_device()).manual_seed(int(seed))


def generator_state(gen: torch.Generator) -> dict:
    """``gen``'s state with its device type, for :func:`load_generator_state`."""
    return {"device": gen.device.type, "state": gen.get_state()}


def load_generator_state(gen: torch.Generator, saved: dict | torch.Tensor) -> None:
    """Restore :func:`generator_state`'s ``saved`` into ``gen``. A state saved on another device
    type cannot be loaded, so ``gen`` is then seeded from a hash of it: a resumed run is still
    determined by its checkpoint, though its stream differs from the one it would have drawn."""
    if isinstance(saved, torch.Tensor):  # a bare state, saved without its device type (a CPU run)
        saved = {"device": "cpu", "state": saved}
    state = saved["state"].to("cpu", torch.uint8)
    if saved["device"] == gen.device.type:
        gen.set_state(state)
    else:
        gen.manual_seed(int.from_bytes(hashlib.sha256(state.numpy().tobytes()).digest()[:8], "little"))
