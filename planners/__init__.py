"""Trajectory optimisers over action sequences (N, H, A), the MPC controller, and Monte-Carlo
tree search for discrete actions.

Importing the package registers every planner in ``mbrl_zoo.registry.PLANNERS``:
``random-shooting``, ``cem``, ``mppi``, ``icem`` and ``gradient`` (continuous actions) and
``mcts`` (discrete actions).
"""

from planners.base import Callback, Objective, Planner, finite_or_worst
from planners.cem import CEM
from planners.gradient import GradientPlanner
from planners.icem import ICEM
from planners.mcts import MCTS, MCTSConfig, SearchResult
from planners.mpc import MPC, MPCPolicy, MPCSettings
from planners.mppi import MPPI
from planners.random_shooting import RandomShooting

__all__ = [
    "CEM", "Callback", "GradientPlanner", "ICEM", "MCTS", "MCTSConfig", "MPC", "MPCPolicy", "MPCSettings", "MPPI",
    "Objective", "Planner", "RandomShooting", "SearchResult", "finite_or_worst",
]
