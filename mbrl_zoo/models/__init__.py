"""Dynamics models: the contract, the learned MLP families, the simulator oracle, the gamma-model
(discounted occupancy), training and diagnostics. Importing this package registers every model
in :data:`mbrl_zoo.registry.MODELS`."""

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
from mbrl_zoo.models.gamma import GammaModel, fit_gamma, rollout_occupancy
from mbrl_zoo.models.mlp import MLPDynamics, MLPSettings, load_model, save_model
from mbrl_zoo.models.oracle import OracleModel

__all__ = [
    "DeterministicMLP", "DynamicsModel", "EpochStats", "FitStats", "FullCovGaussianMLP", "GammaModel",
    "GaussianMLP", "LaplaceMLP", "MLPDynamics", "MLPSettings", "MixtureMLP", "OracleModel", "ProbabilisticEnsemble",
    "build_model", "check_prediction", "fit", "fit_gamma", "load_model", "rollout_occupancy", "save_model",
    "validate_model",
]
