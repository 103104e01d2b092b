"""Every model round-trips through the CLI: `coldrec train --out` saves it with its
vocabularies, and `coldrec recommend --load` and the service loading it (`coldrec serve
--load`) answer with the same ids as the loaded model asked in Python."""

from __future__ import annotations

from pathlib import Path

import pytest

from coldrec.models.registry import MODELS
from tests.pipeline.conftest import Doors, train_cli

#: small, quick settings per model (the shop has 36 products and 60 shoppers)
QUICK = {
    "itemknn": "neighbors=10", "userknn": "neighbors=10", "ease": "lam=10",
    "dlae": "lam=10", "als": "factors=8", "bpr": "dim=8,epochs=3",
    "multvae": "hidden=32,latent=8,epochs=3", "recvae": "hidden=32,latent=8,epochs=3",
    "lightgcn": "dim=8,epochs=3", "hybrid": "cf=ease,cf_lam=10",
    "ensemble": 'members="ease+itemknn"', "als+deepfm": "epochs=2,folds=2,candidates=20",
}
NAMES = [*MODELS, "als+deepfm"]


def test_every_registered_model_is_covered() -> None:
    assert set(QUICK) | {"random", "popularity", "segment-popularity", "content-knn"} >= \
        set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_train_save_load_and_serve_answer_alike(name: str, shop_toml: Path,
                                                tmp_path: Path) -> None:
    folder = train_cli(shop_toml, name, QUICK.get(name, ""), tmp_path / "model")
    doors = Doors(shop_toml, folder, tmp_path / "store.sqlite")
    try:
        assert doors.model.name == name.replace("als+deepfm", "two-stage")
        for user in ("u000", "u017", "u041", "nobody-knows-me"):
            by_python = doors.python(user, k=6)
            assert len(by_python) == 6
            assert doors.cli(user, k=6) == by_python
            assert doors.http(user, k=6) == by_python
    finally:
        doors.close()
