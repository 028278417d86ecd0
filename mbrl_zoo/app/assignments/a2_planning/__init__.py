"""Planning: random shooting, the cross-entropy method and an MPC loop with warm start, run on
the simulator (the oracle model) first and then on a learned model."""

TITLE = "Planning"
STUDENT_FILE = "planning.py"
