"""PyTorch models under the contract, and the shared training loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from coldrec.data import Dataset
from coldrec.errors import ConfigError
from coldrec.models import BPR, LightGCN, MultVAE, Recommender, RecVAE
from coldrec.models.training import DivergenceError
from tests.models.contract import RecommenderContract


class TestMultVAE(RecommenderContract):
    def make_model(self) -> Recommender:
        return MultVAE(hidden=32, latent=8, epochs=150, anneal_steps=100, dropout=0.2,
                       batch_size=20, learning_rate=1e-2, progress=False)


class TestMultVAEInteractionSampling(RecommenderContract):
    def make_model(self) -> Recommender:
        return MultVAE(hidden=32, latent=8, epochs=40, anneal_steps=100, dropout=0.2,
                       batch_size=20, learning_rate=1e-2, sampling="interactions",
                       progress=False)

    def test_an_epoch_visits_every_interaction(self, data: Dataset) -> None:
        users = MultVAE(epochs=1, batch_size=1_000_000, progress=False)
        inter = MultVAE(epochs=1, batch_size=1_000_000, sampling="interactions",
                        progress=False)
        users.fit(data), inter.fit(data)
        assert len(users._rows) == int((data.user_counts > 0).sum())
        np.testing.assert_array_equal(np.bincount(inter._rows, minlength=data.n_users),
                                      data.binary_matrix.getnnz(axis=1))

    def test_unknown_sampling_is_a_config_error(self, data: Dataset) -> None:
        with pytest.raises(ConfigError, match="sampling must be"):
            MultVAE(sampling="sessions", progress=False).fit(data)  # type: ignore[arg-type]


class TestMultVAEFullBatchLowNoise(RecommenderContract):
    """RecBole's recipe: every shopper in one batch, reparameterisation noise sd 0.01."""

    def make_model(self) -> Recommender:
        return MultVAE(hidden=32, latent=8, epochs=150, anneal_steps=100, dropout=0.2,
                       batch_size=1_000_000, noise=0.01, learning_rate=1e-2, progress=False)

    def test_noise_scales_the_reparameterisation(self, data: Dataset) -> None:
        import torch

        x = torch.from_numpy(data.binary_matrix[:4].toarray().astype(np.float32))
        spread = {}
        for noise in (0.0, 0.01, 1.0):
            model = MultVAE(hidden=16, latent=4, dropout=0.0, noise=noise, epochs=1,
                            progress=False).fit(data)
            model.net_.train()
            with torch.no_grad():
                torch.manual_seed(0)
                a, mu, _ = model.net_[0](x)
                b, _, _ = model.net_[0](x)
                spread[noise] = float((a - b).abs().max())
                model.net_.eval()
                np.testing.assert_array_equal(model.net_[0](x)[1].numpy(),
                                              mu.numpy())  # the mean is noise-free
        assert spread[0.0] == 0.0 < spread[0.01] < spread[1.0]


class TestMultVAEBag(RecommenderContract):
    def make_model(self) -> Recommender:
        return MultVAE(hidden=32, latent=8, epochs=150, anneal_steps=100, dropout=0.2,
                       batch_size=20, learning_rate=1e-2, bag=3, progress=False)

    def test_the_bag_scores_with_the_mean_of_its_networks(self, data: Dataset) -> None:
        bag = MultVAE(hidden=16, latent=4, epochs=3, bag=3, progress=False).fit(data)
        assert bag.enc_w0_.shape[0] == 3 and len(bag.net_) == 3
        singles = []
        for i in range(3):  # each network alone, from the bag's own weights
            one = MultVAE(hidden=16, latent=4, epochs=3, progress=False).fit(data)
            for name in ("enc_w0_", "enc_b0_", "enc_w1_", "enc_b1_", "dec_w0_", "dec_b0_",
                         "dec_w1_", "dec_b1_"):
                setattr(one, name, getattr(bag, name)[i:i + 1])
            singles.append(one.score(np.arange(6)))
        assert not np.allclose(singles[0], singles[1])  # different networks
        np.testing.assert_allclose(bag.score(np.arange(6)), np.mean(singles, axis=0),
                                   rtol=1e-5, atol=1e-5)

    def test_models_saved_before_bagging_still_score(self, data: Dataset) -> None:
        model = MultVAE(hidden=16, latent=4, epochs=3, progress=False).fit(data)
        before = model.score(np.arange(6))
        for name in ("enc_w0_", "enc_b0_", "enc_w1_", "enc_b1_", "dec_w0_", "dec_b0_",
                     "dec_w1_", "dec_b1_"):  # the arrays had no bag axis
            setattr(model, name, getattr(model, name)[0])
        np.testing.assert_array_equal(model.score(np.arange(6)), before)
        with pytest.raises(ConfigError, match="bag must be"):
            MultVAE(bag=0, progress=False).fit(data)


class TestRecVAE(RecommenderContract):
    def make_model(self) -> Recommender:
        return RecVAE(hidden=32, latent=8, epochs=60, batch_size=20, learning_rate=1e-2,
                      dropout=0.2, progress=False)

    def test_numpy_scores_are_the_networks_output(self, data: Dataset) -> None:
        model = RecVAE(hidden=16, latent=4, epochs=3, progress=False).fit(data)
        x = torch.from_numpy(data.binary_matrix.toarray().astype(np.float32))
        with torch.no_grad():
            mu, _ = model.net_.encoder(x, 0.0)  # eval mode: the posterior mean, no noise
            expected = model.net_.decoder(mu).numpy()
        np.testing.assert_allclose(model.score(np.arange(data.n_users)), expected,
                                   rtol=1e-4, atol=1e-4)

    def test_decoder_pass_leaves_the_encoder_and_its_snapshot_equal(self,
                                                                   data: Dataset) -> None:
        # the snapshot (the prior's old encoder) is taken after the encoder passes; the
        # decoder pass that follows must not move the encoder
        model = RecVAE(hidden=16, latent=4, epochs=2, progress=False).fit(data)
        new, old = model.net_.encoder.state_dict(), model.net_.encoder_old.state_dict()
        for name, value in new.items():
            torch.testing.assert_close(value, old[name], rtol=0, atol=0)
        untrained = RecVAE(hidden=16, latent=4, epochs=0, progress=False)
        untrained._build(data)
        assert not torch.equal(untrained.net_.encoder.fc[0].weight,
                               model.net_.encoder.fc[0].weight)

    def test_the_kl_weight_grows_with_the_history(self, data: Dataset) -> None:
        model = RecVAE(hidden=16, latent=4, epochs=1, progress=False).fit(data)
        x = torch.from_numpy(data.binary_matrix[:4].toarray().astype(np.float32))
        model.net_.eval()  # no dropout; the sampled z still differs by seed, so fix it
        losses = []
        for gamma in (0.0, 1.0, 2.0):
            torch.manual_seed(0)
            with torch.no_grad():
                losses.append(float(model.net_.loss(x, 0.0, gamma)))
        # nll + gamma * |x_u| * KL: linear in gamma, and the KL part is non-trivial
        assert losses[1] - losses[0] == pytest.approx(losses[2] - losses[1], rel=1e-4)
        assert losses[1] != pytest.approx(losses[0])

    def test_passes_are_validated(self, data: Dataset) -> None:
        with pytest.raises(ConfigError, match="encoder_passes"):
            RecVAE(encoder_passes=0, progress=False).fit(data)


class TestLightGCN(RecommenderContract):
    def make_model(self) -> Recommender:
        return LightGCN(dim=8, layers=2, epochs=60, learning_rate=5e-2, batch_size=64,
                        progress=False)


def test_early_stopping_keeps_the_best_epoch(blocks: Dataset) -> None:
    scores = iter([0.1, 0.3, 0.2, 0.25, 0.1, 0.05, 0.0, 0.0])
    model = MultVAE(hidden=16, latent=4, epochs=8, patience=3, progress=False)
    model.fit(blocks, validation=lambda m: next(scores))
    assert model.best_epoch_ == 2 and len(model.valid_history_) == 5  # stopped after 3 worse
    assert model.refit_params() == {"epochs": 2}


def test_training_is_seeded(blocks: Dataset) -> None:
    a = LightGCN(dim=8, epochs=5, progress=False, random_state=3).fit(blocks)
    b = LightGCN(dim=8, epochs=5, progress=False, random_state=3).fit(blocks)
    np.testing.assert_array_equal(a.score(np.arange(5)), b.score(np.arange(5)))


def test_divergence_is_reported(blocks: Dataset) -> None:
    with pytest.raises(DivergenceError, match="loss is nan at epoch"):
        MultVAE(hidden=8, latent=2, epochs=3, learning_rate=1e30, progress=False).fit(blocks)


class TestBPR(RecommenderContract):
    def make_model(self) -> Recommender:
        return BPR(dim=4, epochs=200, learning_rate=1e-2, batch_size=64, progress=False)

    def test_bpr_is_lightgcn_without_layers(self, data: Dataset) -> None:
        model = BPR(dim=4, epochs=2, progress=False).fit(data)
        assert model.layers == 0 and "layers" not in model.get_params()
        assert model.item_layers_.shape[0] == 1


def test_popularity_negatives_follow_item_counts() -> None:
    import pandas as pd

    from coldrec.errors import ConfigError

    # item 0 bought by users 0..49; user 100 bought only item 5; items 1..9 once each
    rows = [{"user_id": u, "item_id": 0} for u in range(50)]
    rows += [{"user_id": i, "item_id": i} for i in range(1, 10)]
    rows += [{"user_id": 100, "item_id": 5}]
    data = Dataset.from_frames(pd.DataFrame(rows), name="skewed")
    models = {}
    for kind in ("uniform", "popularity"):
        model = BPR(negatives=kind, negative_alpha=1.0, progress=False)
        model.history_ = model._history_matrix(data)
        model._build(data)
        models[kind] = model
    rng = np.random.default_rng(0)
    user = np.full(20_000, 50)  # internal index of raw user 100
    uniform = models["uniform"]._negatives(user, 10, rng)
    popular = models["popularity"]._negatives(user, 10, rng)
    assert not np.isin(uniform, [5]).any() and not np.isin(popular, [5]).any()
    # P(item 0) ∝ count + 1 = 51 against 2 or 3 for the others: about 0.73; uniform: 1/9
    assert 0.65 < np.mean(popular == 0) < 0.8
    assert 0.08 < np.mean(uniform == 0) < 0.14
    bad = BPR(negatives="nope", progress=False)  # type: ignore[arg-type]
    bad.history_ = bad._history_matrix(data)
    with pytest.raises(ConfigError, match="negatives"):
        bad._build(data)


def test_recvae_quality_floor_on_ml100k(ml100k: Dataset) -> None:
    """RecVAE with the benchmark's chosen gamma and learning rate, a fixed 40 epochs (a third
    of what early stopping picks): on P1's validation it already clears 0.23 (0.240 measured;
    popularity's test NDCG@10 is 0.153, the early-stopped RecVAE reaches 0.272 valid)."""
    from coldrec.eval import evaluate_task
    from coldrec.eval.protocols import make_split

    split = make_split(ml100k, "P1")
    train, task = split.selection.train, split.selection.tasks["valid"]
    model = RecVAE(gamma=0.02, learning_rate=1e-3, epochs=40, progress=False).fit(train)
    ndcg = evaluate_task(model, task, [10], train, metrics=["ndcg"])["ndcg@10"]
    assert ndcg >= 0.23
