#!/usr/bin/env bash
# The four dagger-model pairings on one task, for the seeds given as arguments: one expert episode
# (CEM planning on the simulator, or EXPERT: a run folder or an .npz data set), then 5 iterations
# of one real episode each. A small search
# (50 candidates x 2 CEM iterations, 2 particles, horizon 10) and a small ensemble (3 members of
# 2 x 32 units) keep a run to minutes on a 2-core CPU.
# Run from the repository root:
#   bash results/dagger-model/run.sh 0 1 2                                  # cart-pole balance
#   TASK=InvertedPendulum-v5 EPISODE=1000 EXPERT=results/dagger-model/InvertedPendulum-v5/expert.npz \
#     bash results/dagger-model/run.sh 0 1 2
#   TASK=cartpole-swingup HORIZON=25 HIDDEN=64 ITERATIONS=8 bash results/dagger-model/run.sh 0 1 2
set -euo pipefail
task=${TASK:-cartpole-balance}
episode=${EPISODE:-200}   # the task's episode length: the expert plays one whole episode
expert=${EXPERT:-oracle}
iterations=${ITERATIONS:-5}
horizon=${HORIZON:-10}   # planning horizon of the learner and of the oracle expert
hidden=${HIDDEN:-32}     # units in each of the model's 2 hidden layers
pairings=${PAIRINGS:-dagger-model train-once learner-only no-aggregation}
for seed in "$@"; do
  for pairing in $pairings; do
    expert_steps=$episode
    [ "$pairing" = learner-only ] && expert_steps=0
    python -m mbrl_zoo run "$pairing" --task "$task" --seed "$seed" --steps $((iterations * episode)) --quiet \
      --set algorithm.iterations=$iterations --set algorithm.expert_steps=$expert_steps --set algorithm.expert=$expert \
      --set algorithm.horizon=$horizon --set algorithm.particles=2 --set algorithm.fit_epochs=20 \
      --set planner.population_size=50 --set planner.iterations=2 \
      --set model.hidden=$hidden --set model.layers=2 --set model.ensemble_size=3 --set model.num_elites=3 \
      --out "results/dagger-model/$task/$pairing/seed$seed"
  done
done
