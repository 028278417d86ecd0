"""Agents that learn. One module per algorithm, each holding a ``Config`` dataclass and
``train(config: RunConfig, run: Run) -> None`` whose loop reads top to bottom: a ``for obs in
loop`` over :class:`algorithms.loop.EnvLoop`, the one environment loop they all drive.

A module registers itself with ``ALGORITHMS.add(name, sys.modules[__name__], requires=...)``
(``requires`` lists ``"model"``/``"planner"`` when it needs them, and any model capability tags it
relies on) and its named recipes with ``register_pairing(Pairing(...))``.
Importing this package registers every algorithm and pairing.
"""

from algorithms import dagger_model, dyna, gamma_mve, loop, mbmf, mbpo, mpc, muzero_lite, mve, sac, steve

__all__ = ["dagger_model", "dyna", "gamma_mve", "loop", "mbmf", "mbpo", "mpc", "muzero_lite", "mve", "sac", "steve"]
