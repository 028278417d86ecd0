"""run.device: refusals before any folder, the default-device context, generator states that
cross devices, and a resume that may change the device."""

import json

import pytest
import torch

import algorithms  # noqa: F401  (registers the pairings)
import mbrl_zoo
from mbrl_zoo.config import resolve
from mbrl_zoo.device import check_device, generator_state, load_generator_state, on_device, seeded_generator
from mbrl_zoo.errors import UserError
from mbrl_zoo.runs import check_resumable

SMALL_PETS = {"algorithm": {"random_steps": 20, "refit_every": 20, "fit_epochs": 1, "horizon": 3},
              "planner": {"population_size": 8, "iterations": 1},
              "model": {"ensemble_size": 2, "num_elites": 1, "hidden": 8, "layers": 2}}


@pytest.mark.parametrize("name", ["gpu", "cuda:", "cuda:-1", "CPU", "cuda0", ""])
def test_a_malformed_device_is_refused_when_the_config_resolves(name):
    with pytest.raises(UserError, match=rf"run.device={name!r} is not allowed: it must be 'cpu', 'cuda' or 'cuda:N'"):
        resolve("pets", {"run": {"device": name}})


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
@pytest.mark.parametrize("name", ["cuda", "cuda:0", "cuda:3"])
def test_cuda_without_a_gpu_exits_before_any_folder(tmp_path, name):
    out = tmp_path / "run"
    with pytest.raises(UserError, match=rf"run.device={name!r} is not available: .* sees no CUDA GPU"):
        mbrl_zoo.train("pets", "cartpole-balance", steps=30, device=name, out=out, overrides=SMALL_PETS)
    assert not out.exists()
    with pytest.raises(UserError, match="sees no CUDA GPU"):
        check_device(name)


def test_cpu_adds_no_default_device_context():
    with on_device("cpu"):
        assert torch._C._len_torch_function_stack() == 0
        assert torch.get_default_device() == torch.device("cpu")


def test_a_run_inside_a_default_device_context_computes_what_it_computes_without(tmp_path):
    """The context that a GPU run enters, here with the CPU as its device: every tensor, buffer and
    generator the algorithms make goes through it and the numbers stay the same."""
    plain = mbrl_zoo.train("pets", "cartpole-balance", steps=60, out=tmp_path / "plain", overrides=SMALL_PETS,
                           quiet=True)
    with torch.device("cpu"):
        assert torch._C._len_torch_function_stack() == 1
        inside = mbrl_zoo.train("pets", "cartpole-balance", steps=60, out=tmp_path / "inside",
                                overrides=SMALL_PETS, quiet=True)
    columns = ("env_step", "return")
    rows = [[{k: r[k] for k in columns} for r in mbrl_zoo.runs.read_metrics(folder)] for folder in (plain, inside)]
    assert rows[0] == rows[1] and len(rows[0]) >= 1


def test_a_generator_state_round_trips_on_its_own_device():
    gen = seeded_generator(3)
    torch.rand(5, generator=gen)
    saved = generator_state(gen)
    expected = torch.rand(4, generator=gen)
    other = seeded_generator(99)
    load_generator_state(other, saved)
    assert torch.equal(torch.rand(4, generator=other), expected)


def test_a_bare_cpu_state_from_an_older_checkpoint_still_loads():
    gen = seeded_generator(3)
    state = gen.get_state()
    expected = torch.rand(3, generator=gen)
    other = seeded_generator(0)
    load_generator_state(other, state)
    assert torch.equal(torch.rand(3, generator=other), expected)


def test_a_state_from_another_device_reseeds_deterministically():
    """A CUDA generator's state (16 bytes: seed and offset) cannot load into a CPU generator; the
    stream restarts from a seed hashed from it: the same state gives the same draws, another
    offset other draws."""
    cuda_state = {"device": "cuda", "state": torch.tensor([7, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0],
                                                          dtype=torch.uint8)}
    later = {"device": "cuda", "state": cuda_state["state"].clone()}
    later["state"][8] = 8
    draws = []
    for saved in (cuda_state, cuda_state, later):
        gen = seeded_generator(0)
        load_generator_state(gen, saved)
        draws.append(torch.rand(3, generator=gen))
    assert torch.equal(draws[0], draws[1]) and not torch.equal(draws[0], draws[2])


def test_a_run_may_resume_on_another_device(tmp_path):
    config = resolve("pets", {}).to_dict()
    (tmp_path / "config.json").write_text(json.dumps(config))
    config["run"]["device"] = "cuda"
    check_resumable(tmp_path, config)  # accepted
    config["run"]["seed"] = 5
    with pytest.raises(UserError, match="run.seed"):
        check_resumable(tmp_path, config)
