"""Trajectory optimisers over action sequences (N, H, A) and the MPC controller.

Importing the package registers every planner in ``mbrl_zoo.registry.PLANNERS``:
``random-shooting``, ``cem``, ``mppi``, ``icem`` and ``gradient``.
"""

from planners.base import Callback, Objective, Planner, finite_or_worst
from planners.cem import CEM
from planners.gradient import GradientPlanner
from planners.icem import ICEM
from planners.mpc import MPC, MPCPolicy, MPCSettings
from planners.mppi import MPPI
from planners.random_shooting import RandomShooting

__all__ = [
    "CEM", "Callback", "GradientPlanner", "ICEM", "MPC", "MPCPolicy", "MPCSettings", "MPPI", "Objective", "Planner", "RandomShooting",
    "finite_or_worst",
]
