#!/usr/bin/env bash
# dagger-model-sac on cart-pole balance, for the seeds given as arguments: the expert, the model
# and the budget of run.sh (200 expert steps of CEM on the simulator, 5 iterations of one real
# episode, a 3-member ensemble of 2 x 32 units fitted for up to 20 epochs); pi_i is the greedy
# policy of one SAC agent (2 x 256 units, SAC's defaults otherwise, discount 0.99) trained for
# 2000 updates in each refitted model on 5-step rollouts branched from 400 real states every
# 250 updates.
# Run from the repository root: bash results/dagger-model/run_sac.sh 0
set -euo pipefail
for seed in "$@"; do
  python -m mbrl_zoo run dagger-model-sac --task cartpole-balance --seed "$seed" --steps 1000 --quiet \
    --set algorithm.iterations=5 --set algorithm.expert_steps=200 \
    --set algorithm.horizon=10 --set algorithm.particles=2 --set algorithm.fit_epochs=20 \
    --set algorithm.sac_updates_per_iteration=2000 \
    --set planner.population_size=50 --set planner.iterations=2 \
    --set model.hidden=32 --set model.layers=2 --set model.ensemble_size=3 --set model.num_elites=3 \
    --out "results/dagger-model/cartpole-balance/dagger-model-sac/seed$seed"
done
