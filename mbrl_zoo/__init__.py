"""mbrl-zoo: interchangeable dynamics models, planners and model-based RL algorithms.

The core package: contracts (:mod:`mbrl_zoo.types`, :mod:`mbrl_zoo.models.base`), tasks,
models, the replay buffer, rollouts, the registry, configs, runs and the command line.
It imports neither ``planners`` nor ``algorithms``; :func:`mbrl_zoo.registry.load_components`
imports them by name when a command needs the full registry.
"""

__version__ = "0.1.0"
