"""The registry's grids, and which of them a catalogue of a given size can run."""

from __future__ import annotations

import pytest

from coldrec.errors import ConfigError
from coldrec.models import EASE, Ensemble, Hybrid
from coldrec.models.registry import KERNEL_RIDGES, MODELS, get_model_spec


def test_hybrid_grid_tries_the_kernel_transfer_over_dlae_at_both_ridges() -> None:
    configs = MODELS["hybrid"].configs()
    kernel = [c for c in configs if c.get("transfer_kernel") == "text"]
    assert len(configs) == 2880 and len(kernel) == 720
    assert {c["cf"] for c in kernel} == {"dlae"} and {c["cf_lam"] for c in kernel} == {100, 300}
    assert {(c["transfer_lam"], c["transfer_dropout"], c["transfer_lam_out"])
            for c in kernel} == set(KERNEL_RIDGES.values())
    assert {c["transfer_weight"] for c in kernel} == {0.5, 1.0, 2.0}  # the map is used
    assert len({repr(sorted(c.items())) for c in configs}) == len(configs)  # no repeats


def test_dense_item_matrices_are_refused_over_their_size_limit() -> None:
    with pytest.raises(ConfigError, match=r"EASE needs a dense 6 × 6 .*max_items is 5"):
        EASE(max_items=5).check_catalogue(6)
    EASE(max_items=5).check_catalogue(5)
    for params, name in (({"cf": "ease"}, "cf='ease'"), ({"cf": "dlae"}, "cf='dlae'"),
                         ({"cf": "itemknn", "transfer_kernel": "text"}, "transfer_kernel"),
                         ({"cf": "itemknn", "tower": "cold-start"}, "tower")):
        with pytest.raises(ConfigError, match=name):
            Hybrid(ease_max_items=5, **params).check_catalogue(6)
    Hybrid(cf="itemknn", ease_max_items=5).check_catalogue(6)
    Hybrid(cf="auto", ease_max_items=5).check_catalogue(6)  # falls back to item-KNN
    with pytest.raises(ConfigError, match="cf must be"):
        Hybrid(cf="svd").check_catalogue(6)
    ensemble = Ensemble(members=("ease", "als"), member_params={"ease": {"max_items": 5}})
    with pytest.raises(ConfigError, match="EASE"):
        ensemble.check_catalogue(6)


def test_a_big_catalogue_keeps_the_hybrids_sparse_configs() -> None:
    spec = get_model_spec("hybrid")
    configs = spec.configs()
    kept, reasons = spec.for_catalogue(configs, 30_000)  # over ease_max_items (20,000)
    assert kept == [c for c in configs if c["cf"] == "itemknn"] and len(kept) == 360
    assert len(reasons) == 2 and all("ease_max_items 20,000" in r for r in reasons)
    assert spec.for_catalogue(configs, 20_000) == (configs, [])


def test_no_config_left_is_a_clear_error() -> None:
    spec = get_model_spec("ease")
    with pytest.raises(ConfigError, match="EASE needs a dense 40,000 × 40,000"):
        spec.for_catalogue(spec.configs(), 40_000)
