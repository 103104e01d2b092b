"""LightGCN seconds per epoch: coldrec next to RecBole, same machine, data and run.

    pip install --no-deps recbole==1.2.1 colorlog==4.7.2 colorama==0.4.4 thop texttable \
        tabulate                                   # (`make bench` does this)
    python benchmarks/recbole_timing.py

Both train LightGCN on the ml-100k P1 training part with the same shape: 64-d embeddings,
2 layers, batch 4096, Adam lr 0.01, L2 1e-4, one sampled negative per positive. Each
library's own epoch function is timed (validation excluded), median of several epochs
after one warm-up epoch. RecBole 1.2.1 needs shims on current NumPy / SciPy (PEERS.md):
the removed ``np.float_`` aliases and ``scipy.sparse.dok_matrix._update``; ray is not
needed because ``recbole.quick_start`` is never imported.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time

import numpy as np
import scipy.sparse as sp

from _common import stamp, update_section
from coldrec.data import load, shared_datasets_dir
from coldrec.eval import make_split
from coldrec.eval.report import markdown_table
from coldrec.models import LightGCN

SHAPE = {"dim": 64, "layers": 2, "batch_size": 4096, "learning_rate": 1e-2, "reg": 1e-4}


def shims() -> None:
    """Aliases RecBole 1.2.1 expects from older NumPy / SciPy."""
    for old, new in (("float_", np.float64), ("complex_", np.complex128),
                     ("unicode_", np.str_), ("bool8", np.bool_)):
        if not hasattr(np, old):
            setattr(np, old, new)
    if not hasattr(sp.dok_matrix, "_update"):
        def _update(self: sp.dok_matrix, data: dict) -> None:
            for (i, j), v in data.items():
                self[i, j] = v
        sp.dok_matrix._update = _update  # type: ignore[attr-defined]


def outside_the_repository() -> contextlib.chdir:
    """RecBole's trainer writes ``log_tensorboard/`` into the working directory: run it in
    a scratch directory instead of the checkout."""
    return contextlib.chdir(tempfile.mkdtemp(prefix="recbole-"))


def time_epochs(step: object, epochs: int) -> list[float]:
    out = []
    for epoch in range(epochs + 1):
        start = time.perf_counter()
        step(epoch)  # type: ignore[operator]
        if epoch:  # the first epoch warms caches and allocators
            out.append(time.perf_counter() - start)
    return out


def coldrec_epochs(epochs: int) -> list[float]:
    train = make_split(load("ml-100k"), "P1").selection.train
    model = LightGCN(progress=False, epochs=1, **SHAPE)
    model.history_ = model._history_matrix(train)
    model._build(train)
    optimizer = model._optimizer()
    rng = np.random.default_rng(0)
    return time_epochs(lambda _e: model._train_epoch(train, optimizer, rng), epochs)


def recbole_epochs(epochs: int) -> list[float]:
    shims()
    import torch
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.model.general_recommender import LightGCN as RecBoleLightGCN
    from recbole.trainer import Trainer

    root = shared_datasets_dir()
    assert root is not None, "../shared/datasets is needed"
    config = Config(model="LightGCN", dataset="ml-100k", config_dict={
        "data_path": str(root), "checkpoint_dir": tempfile.mkdtemp(), "device": "cpu",
        "use_gpu": False, "show_progress": False, "seed": 0, "epochs": epochs + 1,
        "embedding_size": SHAPE["dim"], "n_layers": SHAPE["layers"],
        "train_batch_size": SHAPE["batch_size"], "learning_rate": SHAPE["learning_rate"],
        "reg_weight": SHAPE["reg"], "load_col": {"inter": ["user_id", "item_id",
                                                           "timestamp"]},
        "eval_args": {"split": {"RS": [0.8, 0.1, 0.1]}, "order": "RO", "mode": "full"},
        "train_neg_sample_args": {"distribution": "uniform", "sample_num": 1},
        "log_wandb": False})
    torch.set_num_threads(torch.get_num_threads())
    dataset = create_dataset(config)
    train, _valid, _test = data_preparation(config, dataset)
    model = RecBoleLightGCN(config, train.dataset)
    with outside_the_repository():
        trainer = Trainer(config, model)
        return time_epochs(lambda e: trainer._train_epoch(train, e, show_progress=False),
                           epochs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    rows = []
    for name, fn in (("coldrec LightGCN", coldrec_epochs), ("RecBole 1.2.1 LightGCN",
                                                            recbole_epochs)):
        times = fn(args.epochs)
        rows.append({"implementation": name, "epochs timed": len(times),
                     "median s/epoch": statistics.median(times), "min": min(times),
                     "max": max(times)})
        print(rows[-1], flush=True)
    ratio = rows[1]["median s/epoch"] / rows[0]["median s/epoch"]
    body = ["### LightGCN seconds per epoch — coldrec vs RecBole (ml-100k P1 train)\n",
            "Same shape: 64-d, 2 layers, batch 4096, Adam lr 0.01, L2 1e-4, one uniform "
            "negative per positive; each library's own epoch function, validation excluded, "
            f"after one warm-up epoch. RecBole / coldrec median ratio: {ratio:.2f}.\n",
            markdown_table(rows) + "\n"]
    update_section("recbole-timing", "\n".join(body) + "\n" + stamp())


if __name__ == "__main__":
    main()
