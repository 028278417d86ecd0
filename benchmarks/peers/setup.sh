#!/usr/bin/env bash
# Install the peer, mbrl-lib 0.2.0 (PyPI `mbrl`), in its own virtual environment on the CPU.
#
#   bash benchmarks/peers/setup.sh                 # venv at benchmarks/peers/.venv
#   PEER_VENV=/somewhere/venv bash benchmarks/peers/setup.sh
#
# Safe to re-run: an existing venv is reused and pip skips what is there. Why each pin deviates
# from mbrl 0.2.0's declared requirements is in benchmarks/peers/README.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${PEER_VENV:-$here/.venv}"
python="${PYTHON:-python3.11}"

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/pip" install -q --disable-pip-version-check)

# Every later pip call is constrained to these, so that pip can never swap torch for a CUDA build
# or pull numpy 2 (which the mujoco 2.3 and gymnasium 0.26 wheels predate).
constraints="$venv/peer-constraints.txt"
printf 'torch==2.13.0\nnumpy<2\n' > "$constraints"

"${pip[@]}" torch==2.13.0
"${pip[@]}" -c "$constraints" \
  "hydra-core==1.3.2" "omegaconf==2.3.0" "gymnasium==0.26.3" "mujoco==2.3.3" \
  "numpy>=1.19.1,<2" "termcolor>=1.1.0" "matplotlib>=3.3.1" "tqdm>=4.48.2" "imageio>=2.9.0"
# --no-deps: mbrl's declared hydra-core==1.0.3 and omegaconf<2.1 do not import on Python 3.11.
"${pip[@]}" --no-deps "mbrl==0.2.0"

# The wheel's main.yaml names a CEM optimizer config group the wheel does not contain:
# write it from mbrl-lib's CEMOptimizer arguments, each read from the task's `overrides`.
conf="$("$venv/bin/python" -c 'import mbrl, os; print(os.path.join(os.path.dirname(mbrl.__file__), "examples", "conf"))')"
mkdir -p "$conf/action_optimizer"
cat > "$conf/action_optimizer/cem.yaml" <<'YAML'
_target_: mbrl.planning.CEMOptimizer
num_iterations: ${overrides.cem_num_iters}
elite_ratio: ${overrides.cem_elite_ratio}
population_size: ${overrides.cem_population_size}
alpha: ${overrides.cem_alpha}
lower_bound: ???
upper_bound: ???
return_mean_elites: true
device: ${device}
clipped_normal: ${overrides.cem_clipped_normal}
YAML

"$venv/bin/python" - <<'PY'
import gymnasium, hydra, mujoco, numpy, omegaconf, torch
import mbrl, mbrl.algorithms.mbpo, mbrl.algorithms.pets, mbrl.env.cartpole_continuous, mbrl.env.mujoco_envs

assert torch.__version__.startswith("2.13.0") and not torch.cuda.is_available(), torch.__version__
gymnasium.make("Hopper-v4").reset(seed=0)  # its XML needs mujoco <= 2.3.3
print("peer ready: mbrl", mbrl.__version__, "torch", torch.__version__, "numpy", numpy.__version__,
      "gymnasium", gymnasium.__version__, "mujoco", mujoco.__version__, "hydra", hydra.__version__,
      "omegaconf", omegaconf.__version__)
PY
