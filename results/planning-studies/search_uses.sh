#!/usr/bin/env bash
# "Using search in different ways" (Hamrick et al. 2021) on CartPole-v1 with oracle-mcts: one run per
# use of full-depth search while training (targets: search_learn, acting: search_data); the rest
# search one step deep. Usage: bash results/planning-studies/search_uses.sh STEPS SIMULATIONS SEED
set -euo pipefail
steps=${1:-1000}; sims=${2:-10}; seed=${3:-0}
for learn in false true; do
  for data in false true; do
    mbrl-zoo run oracle-mcts --task CartPole-v1 --steps "$steps" --seed "$seed" --overwrite \
      --set planner.simulations="$sims" --set algorithm.search_learn=$learn --set algorithm.search_data=$data \
      --set algorithm.search_eval=false \
      --out "results/planning-studies/search-uses/learn-$learn-data-$data/seed$seed"
  done
done
