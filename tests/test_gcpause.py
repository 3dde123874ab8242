"""paused_gc: the collector is off inside the block and back to its earlier state after it."""

import gc

import pytest

from symbackprop.codegen.gcpause import paused_gc


@pytest.fixture(autouse=True)
def _restore_gc():
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def test_paused_inside_and_enabled_after():
    gc.enable()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_enabled_again_after_an_exception():
    gc.enable()
    with pytest.raises(ValueError), paused_gc():
        raise ValueError("boom")
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled():
    gc.disable()
    with paused_gc():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_generate_module_leaves_the_collector_enabled():
    from symbackprop.codegen.unit import generate_module
    from symbackprop.derivation.unit import derive
    from symbackprop.model.layered import LayerSpec, build_layered

    net = build_layered(
        name="tiny", inputs=2, layers=[LayerSpec(2, "sigmoid", "unit")], notation="mazur"
    )
    gc.enable()
    generate_module(derive(net), source="tiny")
    assert gc.isenabled()
