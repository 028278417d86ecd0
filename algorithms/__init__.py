"""Agents that learn. One module per algorithm, each holding a ``Config`` dataclass and
``train(config: RunConfig, run: Run) -> None`` whose loop reads top to bottom.

A module registers itself with ``ALGORITHMS.add(name, sys.modules[__name__], requires=...)``
(``requires`` lists ``"model"``/``"planner"`` when it needs them and model capability tags such
as ``"ensemble"``) and its named recipes with ``register_pairing(Pairing(...))``.
Importing this package registers every algorithm and pairing.
"""

from algorithms import dyna, mbmf, mbpo, mpc, mve, sac, steve

__all__ = ["dyna", "mbmf", "mbpo", "mpc", "mve", "sac", "steve"]
