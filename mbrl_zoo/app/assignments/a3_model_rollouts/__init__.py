"""Dyna and MBPO: branched model rollouts with termination masks, the real/model data mix of each
minibatch and the rollout-length schedule, run inside the zoo's MBPO."""

TITLE = "Dyna/MBPO model rollouts"
STUDENT_FILE = "rollouts.py"
