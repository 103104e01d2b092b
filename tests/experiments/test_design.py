"""Experiment designs: deterministic, weighted, salt-independent assignment; clear errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from coldrec.errors import ConfigError
from coldrec.experiments import Experiment, Variant, load_experiment


def ab(**kw: object) -> Experiment:
    return Experiment("ab", (Variant("control", model="popularity"),
                             Variant("treatment", model="hybrid", rerank="tail-balanced")),
                      **kw)  # type: ignore[arg-type]


def test_assignment_is_a_pure_function_of_salt_and_id() -> None:
    a, b = ab(), ab()
    ids = [f"user-{i}" for i in range(2000)]
    assert [a.assign(u).name for u in ids] == [b.assign(u).name for u in ids]
    # the documented rule, so a change of the hash (which would reshuffle live shoppers)
    # fails: the first 60 bits of SHA-256("salt\x1fid") as a fraction of 2**60
    for u in ids[:50]:
        digest = hashlib.sha256(f"ab\x1f{u}".encode()).hexdigest()
        assert a.bucket(u) == int(digest[:15], 16) / 16**15
        assert a.assign(u).name == ("control" if a.bucket(u) < 0.5 else "treatment")
    assert min(a.bucket(u) for u in ids) >= 0.0 and max(a.bucket(u) for u in ids) < 1.0


def test_shares_follow_the_weights() -> None:
    exp = Experiment("weighted", (Variant("a"), Variant("b", weight=3.0)))
    names = [exp.assign(str(i)).name for i in range(20_000)]
    share_b = names.count("b") / len(names)
    assert abs(share_b - 0.75) < 0.015
    assert exp.shares() == {"a": 0.25, "b": 0.75}


def test_two_salts_assign_independently() -> None:
    first, second = ab(), ab(salt="another")
    same = np.mean([first.assign(str(i)).name == second.assign(str(i)).name
                    for i in range(10_000)])
    assert abs(same - 0.5) < 0.03  # independent halves agree half the time


def test_labels_and_json_round_trip(tmp_path: Path) -> None:
    exp = ab(primary_metric="conversion")
    assert exp.label(exp.variants[1]) == "ab/treatment"
    path = tmp_path / "exp.json"
    path.write_text(json.dumps(exp.to_json()))
    assert load_experiment(path) == exp
    assert exp.variant("treatment").rerank == "tail-balanced"
    assert exp.variants[0].arm != exp.variants[1].arm


@pytest.mark.parametrize(("obj", "words"), [
    ({"name": "x", "variants": [{"name": "a"}]}, "at least two variants"),
    ({"name": "x", "variants": [{"name": "a"}, {"name": "a"}]}, "repeat"),
    ({"name": "x", "variants": [{"name": "a"}, {"name": "b", "weight": 0}]}, "positive weight"),
    ({"name": "x", "variants": [{"name": "a"}, {"name": "b", "colour": 1}]}, "colour"),
    ({"name": "x", "variants": [{"name": "a"}, {"model": "ease"}]}, "variants[1]: missing "
                                                                     "field 'name'"),
    ({"name": "x y", "variants": [{"name": "a"}, {"name": "b"}]}, "experiment name"),
    ({"variants": [{"name": "a"}, {"name": "b"}]}, "missing field 'name'"),
    ({"name": "x", "variants": [{"name": "a"}, {"name": "b"}], "primary_metric": "likes"},
     "primary_metric"),
])
def test_bad_designs_name_the_field(tmp_path: Path, obj: dict, words: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(obj))
    with pytest.raises(ConfigError, match=words.replace("[", r"\[").replace("]", r"\]")):
        load_experiment(path)


def test_unreadable_design_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_experiment(tmp_path / "missing.json")
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ConfigError, match="invalid JSON at line 1"):
        load_experiment(tmp_path / "broken.json")
