"""Dynamics models: the contract, the learned MLP families, the simulator oracle, training and
diagnostics. Importing this package registers every model in :data:`mbrl_zoo.registry.MODELS`."""

from mbrl_zoo.models.base import DynamicsModel, build_model, check_prediction, validate_model
from mbrl_zoo.models.families import (
    DeterministicMLP,
    FullCovGaussianMLP,
    GaussianMLP,
    LaplaceMLP,
    MixtureMLP,
    ProbabilisticEnsemble,
)
from mbrl_zoo.models.fit import EpochStats, FitStats, fit
from mbrl_zoo.models.mlp import MLPDynamics, MLPSettings, load_model, save_model
from mbrl_zoo.models.oracle import OracleModel

__all__ = [
    "DeterministicMLP", "DynamicsModel", "EpochStats", "FitStats", "FullCovGaussianMLP", "GaussianMLP",
    "LaplaceMLP", "MLPDynamics", "MLPSettings", "MixtureMLP", "OracleModel", "ProbabilisticEnsemble",
    "build_model", "check_prediction", "fit", "load_model", "save_model", "validate_model",
]
