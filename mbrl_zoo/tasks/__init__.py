"""Tasks: what to solve (env, reward, termination) and the check that keeps them honest.

Importing this package registers the zoo's tasks (:mod:`mbrl_zoo.tasks.library`) in
``mbrl_zoo.registry.TASKS`` and the cart-pole envs with gymnasium.
"""

from mbrl_zoo.registry import TASKS
from mbrl_zoo.tasks import library
from mbrl_zoo.tasks.check import TaskCheck, check_task
from mbrl_zoo.tasks.spec import TaskSpec

__all__ = ["TaskCheck", "TaskSpec", "check_task", "get_task", "library"]


def get_task(name: str) -> TaskSpec:
    """The registered task ``name``; an unknown name raises UserError listing the valid ones."""
    return TASKS.get(name).obj
