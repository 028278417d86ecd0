#!/usr/bin/env bash
# The four dagger-model pairings on cart-pole balance, for the seeds given as arguments:
# 200 expert steps of CEM planning on the simulator, then 5 iterations of one real episode each.
# A small search (50 candidates x 2 CEM iterations, 2 particles, horizon 10) and a small
# ensemble (3 members of 2 x 32 units) keep a run to minutes on a shared 2-core machine.
# Run from the repository root: bash results/dagger-model/run.sh 0 1
set -euo pipefail
for seed in "$@"; do
  for pairing in dagger-model train-once learner-only no-aggregation; do
    expert_steps=200
    [ "$pairing" = learner-only ] && expert_steps=0
    python -m mbrl_zoo run "$pairing" --task cartpole-balance --seed "$seed" --steps 1000 --quiet \
      --set algorithm.iterations=5 --set algorithm.expert_steps=$expert_steps \
      --set algorithm.horizon=10 --set algorithm.particles=2 --set algorithm.fit_epochs=20 \
      --set planner.population_size=50 --set planner.iterations=2 \
      --set model.hidden=32 --set model.layers=2 --set model.ensemble_size=3 --set model.num_elites=3 \
      --out "results/dagger-model/cartpole-balance/$pairing/seed$seed"
  done
done
