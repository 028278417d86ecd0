from dataclasses import dataclass

import pytest

from mbrl_zoo.errors import UserError
from mbrl_zoo.registry import Pairing, Registry, check_compatible, first_sentence, ALGORITHMS, MODELS, PLANNERS
from mbrl_zoo.settings import setting


def test_register_and_get_returns_entry_with_tags():
    reg = Registry("model")

    @reg.register("tiny", tags={"learned"})
    class Tiny:
        """A tiny model."""

        def __init__(self, hidden: int = 8):
            pass

    entry = reg.get("tiny")
    assert entry.obj is Tiny and entry.tags == {"learned"} and entry.summary == "A tiny model."
    assert reg.names() == ["tiny"] and "tiny" in reg


@pytest.mark.parametrize("doc, summary", [
    ("A tiny model.", "A tiny model."),
    ("Deterministic MLP (Nagabandi et al.\n    2018). More here.", "Deterministic MLP (Nagabandi et al. 2018)."),
    ("Laplace heads, i.e. heavier tails. Next sentence.", "Laplace heads, i.e. heavier tails."),
    ("No full stop\n\nSecond paragraph.", "No full stop"),
    ("Version 2.0 of it. Then.", "Version 2.0 of it."),
    ("", ""),
])
def test_summary_is_the_docstrings_first_sentence_across_lines(doc, summary):
    assert first_sentence(doc) == summary


def test_duplicate_name_is_refused():
    reg = Registry("planner")
    reg.add("cem", object())
    with pytest.raises(UserError, match="'cem' is already registered"):
        reg.add("cem", object())


def test_unknown_name_lists_valid_names_and_closest_match():
    reg = Registry("model")
    for name in ("gaussian", "deterministic", "pe"):
        reg.add(name, object())
    with pytest.raises(UserError) as info:
        reg.get("gausian")
    message = str(info.value)
    assert "unknown model 'gausian'" in message
    assert "Did you mean 'gaussian'?" in message
    assert "deterministic, gaussian, pe" in message


def test_a_plugin_without_config_gets_one_from_its_constructor_signature():
    reg = Registry("model", skip=("obs_dim", "act_dim"))

    @reg.register("mlp")
    class MLP:
        def __init__(self, obs_dim: int, act_dim: int, hidden: int = 200, layers: tuple[int, ...] = (1, 2)):
            pass

    cfg_cls = reg.get("mlp").config_class()
    cfg = cfg_cls()
    assert (cfg.hidden, cfg.layers) == (200, (1, 2))
    assert reg.get("mlp").config_class() is cfg_cls

    @reg.register("bad")
    class Bad:
        def __init__(self, obs_dim: int, act_dim: int, width: int):
            pass

    with pytest.raises(UserError) as info:
        reg.get("bad").config_class()
    line = Bad.__init__.__code__.co_firstlineno
    assert f"model 'bad' ({__file__}, line {line}): constructor argument 'width' has no default" in str(info.value)


def test_a_declared_config_wins_over_the_constructor_signature():
    reg = Registry("planner", skip=("horizon",))

    @dataclass(frozen=True)
    class Settings:
        population_size: int = setting(10, ">= 1")

    @reg.register("declared")
    class Declared:
        Config = Settings

        def __init__(self, horizon: int, **settings):
            self.config = Settings(**settings)

    assert reg.get("declared").config_class() is Settings


def test_build_reports_a_failing_constructor_as_the_components_fault_with_its_line():
    reg = Registry("planner")

    @reg.register("broken")
    class Broken:
        def __init__(self, size: int = 3):
            raise RuntimeError(f"cannot allocate {size}")

    with pytest.raises(UserError) as info:
        reg.get("broken").build(size=5)
    line = Broken.__init__.__code__.co_firstlineno + 1
    assert str(info.value) == f"planner 'broken' failed to build: {__file__}, line {line}: RuntimeError: cannot allocate 5"
    with pytest.raises(UserError, match="^bad size$"):
        reg.add("refusing", lambda: (_ for _ in ()).throw(UserError("bad size")))
        reg.get("refusing").build()


def test_incompatible_pairing_is_refused_with_reason():
    ALGORITHMS.add("_needs_ensemble", object(), requires={"model", "ensemble"})
    MODELS.add("_single", object, tags={"learned"})
    MODELS.add("_many", object, tags={"learned", "ensemble"})
    try:
        with pytest.raises(UserError) as info:
            check_compatible("_needs_ensemble", "_single", None)
        assert "needs a model that is ensemble" in str(info.value)
        assert "_many" in str(info.value)
        check_compatible("_needs_ensemble", "_many", None)
        with pytest.raises(UserError, match="needs a model"):
            check_compatible("_needs_ensemble", None, None)
    finally:
        ALGORITHMS.remove("_needs_ensemble")
        MODELS.remove("_single")
        MODELS.remove("_many")
