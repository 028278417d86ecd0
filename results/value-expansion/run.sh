#!/usr/bin/env bash
# sac, mve and gamma-mve on one task for the seeds given as arguments, each for STEPS env steps
# after 1,000 uniform random ones, evaluated every EVAL_EVERY steps. Run from the repository root:
#   TASK=HalfCheetah-v5 STEPS=10000 EVAL_EVERY=1000 bash results/value-expansion/run.sh 0 1 2
set -euo pipefail
task=${TASK:-InvertedPendulum-v5}
steps=${STEPS:-10000}
eval_every=${EVAL_EVERY:-500}
pairings=${PAIRINGS:-sac gamma-mve mve}
for seed in "$@"; do
  for pairing in $pairings; do
    python -m mbrl_zoo run "$pairing" --task "$task" --seed "$seed" --steps "$steps" --quiet \
      --set algorithm.random_steps=1000 --set algorithm.eval_every="$eval_every" \
      --out "results/value-expansion/$task/$pairing/seed$seed"
  done
done
