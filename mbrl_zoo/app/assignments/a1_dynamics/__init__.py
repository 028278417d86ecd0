"""Dynamics models: delta targets, input and target normalisation, the Gaussian NLL with bounded
log-variance and a bootstrap ensemble, trained by the zoo's ``fit`` and planned with by PETS."""

TITLE = "Dynamics models"
STUDENT_FILE = "dynamics.py"
