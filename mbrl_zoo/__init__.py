"""mbrl-zoo: interchangeable dynamics models, planners and model-based RL algorithms.

The core package: contracts (:mod:`mbrl_zoo.types`, :mod:`mbrl_zoo.models.base`), tasks,
models, the replay buffer, rollouts, the registry, configs and runs. It imports neither
``planners`` nor ``algorithms``; :mod:`mbrl_zoo.app` (the command line, sweeps, comparisons)
sits on top of all three. :func:`train` is the one Python entry point::

    import mbrl_zoo
    folder = mbrl_zoo.train("pets", task="cartpole-swingup", steps=1000, out="results/x",
                            overrides={"planner": {"population_size": 200}})
"""

__version__ = "0.1.0"


def train(pairing, task=None, **kwargs):
    """Train ``pairing`` on ``task``; see :func:`mbrl_zoo.app.train` (this imports it lazily, so
    that ``import mbrl_zoo`` stays light)."""
    from mbrl_zoo.app import train as app_train

    return app_train(pairing, task, **kwargs)
