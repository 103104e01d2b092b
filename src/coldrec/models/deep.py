"""Deep collaborative models in PyTorch: Mult-VAE, RecVAE, LightGCN and BPR.

Both train through :class:`~coldrec.models.training.TorchRecommender` (one loop: epochs,
progress, early stopping on validation, NaN checks, seeding) and score from exported numpy
arrays, so saved models are ``.npz`` + JSON and scoring needs no torch graph.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from torch import nn

from coldrec.data.dataset import Dataset
from coldrec.errors import ConfigError
from coldrec.models.factor import FactorModel
from coldrec.models.training import TorchRecommender

__all__ = ["BPR", "LightGCN", "MultVAE", "RecVAE"]


def _csr_to_torch(matrix: sp.csr_matrix) -> torch.Tensor:
    """A scipy matrix as a torch sparse CSR tensor (float32)."""
    csr = sp.csr_matrix(matrix, dtype=np.float32)
    csr.sort_indices()
    with warnings.catch_warnings():  # "CSR support is in beta": the one op used is stable
        warnings.filterwarnings("ignore", "Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(torch.from_numpy(csr.indptr.astype(np.int64)),
                                       torch.from_numpy(csr.indices.astype(np.int64)),
                                       torch.from_numpy(csr.data), csr.shape,
                                       check_invariants=True)


def _unit_rows(history: sp.csr_matrix, n_known: int) -> sp.csr_matrix:
    """The history's first ``n_known`` columns (the items the network was trained on), each
    row scaled to unit L2 norm (empty rows stay empty): the autoencoders' input."""
    x = sp.csr_matrix(history[:, :n_known], dtype=np.float32)
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1))).ravel()
    return sp.diags(1.0 / np.maximum(norms, 1e-12)) @ x


class _SymmetricSpMM(torch.autograd.Function):
    """``A @ x`` for a constant symmetric sparse ``A``: the gradient is ``A @ grad``, so
    backward is one more CSR product instead of torch's generic transpose path (2.6× faster
    per propagation on Complete Journey's 71k-node graph)."""

    @staticmethod
    def forward(ctx: Any, adj: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
        ctx.adj = adj
        return adj @ dense

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[None, torch.Tensor]:
        return None, ctx.adj @ grad


class _VAE(nn.Module):
    def __init__(self, n_items: int, hidden: int, latent: int, dropout: float,
                 noise: float = 1.0) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(n_items, hidden), nn.Tanh(),
                                     nn.Linear(hidden, 2 * latent))
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.Tanh(),
                                     nn.Linear(hidden, n_items))
        self.drop = nn.Dropout(dropout)
        self.latent = latent
        self.noise = noise
        for layer in (*self.encoder, *self.decoder):
            if isinstance(layer, nn.Linear):
                nn.init.xavier_normal_(layer.weight)
                nn.init.normal_(layer.bias, std=0.001)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = nn.functional.normalize(x, dim=1)
        h = self.encoder(self.drop(x))
        mu, logvar = h[:, : self.latent], h[:, self.latent:]
        z = mu + self.noise * torch.randn_like(mu) * torch.exp(0.5 * logvar) \
            if self.training else mu
        return self.decoder(z), mu, logvar


class MultVAE(TorchRecommender):
    """Variational autoencoder with a multinomial likelihood (Liang et al., WWW 2018).

    A shopper's history is encoded to a Gaussian latent and decoded into a distribution
    over all items; the KL term is annealed linearly to ``anneal_cap`` over
    ``anneal_steps`` updates. Any history row can be scored: new clicks fold in directly.

    ``sampling="users"`` visits every shopper once per epoch; ``"interactions"`` draws each
    batch from the interactions (a shopper appears once per item they touched), as RecBole
    does: heavy shoppers weigh more and an epoch has ``nnz / batch_size`` updates.
    ``noise`` scales the reparameterisation noise: 1 is the paper's VAE; RecBole draws it
    with standard deviation 0.01, close to a denoising autoencoder (input dropout only).
    ``bag`` > 1 trains that many networks side by side (different initialisations, dropout
    draws and batch orders; early stopping watches their average) and scores with the mean
    of their outputs: the seed-to-seed spread of a single network averages out.
    """

    binary_history: ClassVar[bool] = True
    name: ClassVar[str] = "multvae"

    def __init__(self, hidden: int = 600, latent: int = 64, dropout: float = 0.5,
                 anneal_cap: float = 0.2, anneal_steps: int = 200_000, epochs: int = 300,
                 learning_rate: float = 1e-3, weight_decay: float = 0.0,
                 batch_size: int = 256, sampling: Literal["users", "interactions"] = "users",
                 noise: float = 1.0, bag: int = 1, patience: int = 10,
                 progress: bool = True, random_state: int = 0) -> None:
        self.hidden = hidden
        self.latent = latent
        self.dropout = dropout
        self.anneal_cap = anneal_cap
        self.anneal_steps = anneal_steps
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.sampling = sampling
        self.noise = noise
        self.bag = bag
        self.patience = patience
        self.progress = progress
        self.random_state = random_state

    def _build(self, data: Dataset) -> None:
        if self.sampling not in ("users", "interactions"):
            raise ConfigError(f"sampling must be 'users' or 'interactions', "
                              f"not {self.sampling!r}")
        if int(self.bag) < 1:
            raise ConfigError(f"bag must be at least 1, not {self.bag!r}")
        self.net_ = nn.ModuleList(
            _VAE(data.n_items, int(self.hidden), int(self.latent), float(self.dropout),
                 float(self.noise)) for _ in range(int(self.bag)))
        if self.sampling == "interactions":
            self._rows = np.repeat(np.arange(data.n_users), np.diff(self.history_.indptr))
        else:
            self._rows = np.flatnonzero(data.user_counts > 0)
        self._updates = 0

    def _optimizer(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.net_.parameters(), lr=float(self.learning_rate),
                                weight_decay=float(self.weight_decay))

    def _train_epoch(self, data: Dataset, optimizer: torch.optim.Optimizer,
                     rng: np.random.Generator) -> float:
        total, batches, size = 0.0, 0, int(self.batch_size)
        for net in self.net_:  # each network of the bag: its own batch order
            rows = rng.permutation(self._rows)
            for step, start in enumerate(range(0, len(rows), size)):
                batch = torch.from_numpy(self.history_[rows[start:start + size]].toarray())
                beta = min(float(self.anneal_cap),
                           (self._updates + step) / max(1, int(self.anneal_steps)))
                logits, mu, logvar = net(batch)
                nll = -(nn.functional.log_softmax(logits, dim=1) * batch).sum(dim=1).mean()
                kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1).mean()
                loss = nll + beta * kl
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += float(loss.detach())
                batches += 1
        self._updates += -(-len(self._rows) // size)  # updates per network so far
        return total / max(1, batches)

    def _export(self) -> None:
        """Each weight as an array with a leading bag axis (one slice per network)."""
        parts: dict[str, list[np.ndarray]] = {}
        latent = int(self.latent)
        with torch.no_grad():
            for net in self.net_:
                enc0, enc1 = net.encoder[0], net.encoder[2]
                dec0, dec1 = net.decoder[0], net.decoder[2]
                for name, value in (("enc_w0_", enc0.weight.T), ("enc_b0_", enc0.bias),
                                    ("enc_w1_", enc1.weight.T[:, :latent]),
                                    ("enc_b1_", enc1.bias[:latent]),
                                    ("dec_w0_", dec0.weight.T), ("dec_b0_", dec0.bias),
                                    ("dec_w1_", dec1.weight.T), ("dec_b1_", dec1.bias)):
                    parts.setdefault(name, []).append(value.numpy().copy())
        for name, values in parts.items():
            setattr(self, name, np.stack(values))

    def _score(self, users: np.ndarray, history: sp.csr_matrix,
               attributes: pd.DataFrame | None) -> np.ndarray:
        def bagged(a: np.ndarray, ndim: int) -> np.ndarray:  # models saved before bagging
            return a if a.ndim == ndim + 1 else a[None]

        n_known = self.dec_w1_.shape[-1]
        x = _unit_rows(history, n_known)
        nets = zip(bagged(self.enc_w0_, 2), bagged(self.enc_b0_, 1), bagged(self.enc_w1_, 2),
                   bagged(self.enc_b1_, 1), bagged(self.dec_w0_, 2), bagged(self.dec_b0_, 1),
                   bagged(self.dec_w1_, 2), bagged(self.dec_b1_, 1), strict=True)
        logits = np.zeros((len(users), n_known), dtype=np.float32)
        for enc_w0, enc_b0, enc_w1, enc_b1, dec_w0, dec_b0, dec_w1, dec_b1 in nets:
            mu = np.tanh(np.asarray(x @ enc_w0) + enc_b0) @ enc_w1 + enc_b1
            logits += np.tanh(mu @ dec_w0 + dec_b0) @ dec_w1 + dec_b1
        # the mean of the networks' logits ranks like the mean of their log-probabilities
        # (each network's log-softmax only shifts a shopper's row by a constant)
        out = np.zeros((len(users), self.n_items_), dtype=np.float32)
        out[:, :n_known] = logits / len(bagged(self.dec_b1_, 1))
        return out


#: RecVAE's layer-normalisation epsilon (the paper's; large, it damps near-constant layers)
_LAYER_NORM_EPS = 0.1


def _swish(x: torch.Tensor) -> torch.Tensor:
    return x * torch.sigmoid(x)


def _log_normal(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Elementwise log density of N(mu, exp(logvar)) at z."""
    return -0.5 * (logvar + math.log(2 * math.pi) + (z - mu).pow(2) / logvar.exp())


class _DenseEncoder(nn.Module):
    """RecVAE's encoder: five swish layers, each fed the sum of all earlier ones, each
    layer-normalised; a Gaussian head."""

    def __init__(self, n_items: int, hidden: int, latent: int) -> None:
        super().__init__()
        self.fc = nn.ModuleList([nn.Linear(n_items, hidden)]
                                + [nn.Linear(hidden, hidden) for _ in range(4)])
        self.ln = nn.ModuleList(nn.LayerNorm(hidden, eps=_LAYER_NORM_EPS) for _ in range(5))
        self.mu = nn.Linear(hidden, latent)
        self.logvar = nn.Linear(hidden, latent)

    def forward(self, x: torch.Tensor, dropout: float) -> tuple[torch.Tensor, torch.Tensor]:
        x = nn.functional.normalize(x, dim=1)
        x = nn.functional.dropout(x, p=dropout, training=self.training)
        h = self.ln[0](_swish(self.fc[0](x)))
        total = h
        for fc, ln in zip(self.fc[1:], self.ln[1:], strict=True):
            h = ln(_swish(fc(h) + total))
            total = total + h
        return self.mu(h), self.logvar(h)


class _RecVAENet(nn.Module):
    #: the composite prior's mixture: N(0, 1), the previous encoder's posterior, N(0, e^10)
    MIXTURE = (3 / 20, 3 / 4, 1 / 10)

    def __init__(self, n_items: int, hidden: int, latent: int) -> None:
        super().__init__()
        self.encoder = _DenseEncoder(n_items, hidden, latent)
        self.encoder_old = _DenseEncoder(n_items, hidden, latent)
        self.encoder_old.requires_grad_(False)
        self.encoder_old.load_state_dict(self.encoder.state_dict())
        self.decoder = nn.Linear(latent, n_items)

    def loss(self, x: torch.Tensor, dropout: float, gamma: float,
             decoder_only: bool = False) -> torch.Tensor:
        """The negative ELBO; ``decoder_only`` (a decoder pass) leaves out what does not
        depend on the decoder: the encoder's gradients and the KL term."""
        with torch.set_grad_enabled(not decoder_only and torch.is_grad_enabled()):
            mu, logvar = self.encoder(x, dropout)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        nll = -(nn.functional.log_softmax(self.decoder(z), dim=1) * x).sum(dim=1)
        if decoder_only:
            return nll.mean()
        with torch.no_grad():  # dropout 0: the snapshot's train/eval mode makes no difference
            old_mu, old_logvar = self.encoder_old(x, 0.0)
        zeros = torch.zeros_like(z)
        log_prior = torch.logsumexp(torch.stack([
            _log_normal(z, zeros, zeros) + math.log(self.MIXTURE[0]),
            _log_normal(z, old_mu, old_logvar) + math.log(self.MIXTURE[1]),
            _log_normal(z, zeros, zeros + 10.0) + math.log(self.MIXTURE[2])]), dim=0)
        kl = (_log_normal(z, mu, logvar) - log_prior).sum(dim=1)
        # the KL weight grows with the shopper's history (the paper's gamma * |x_u|)
        return (nll + gamma * x.sum(dim=1) * kl).mean()


class RecVAE(TorchRecommender):
    """RecVAE (Shenbin et al., WSDM 2020): Mult-VAE with a stronger encoder and training.

    The encoder is five densely connected swish layers with layer normalisation; the prior
    is a mixture of a standard normal, a wide normal and the posterior of the encoder as it
    was after the previous epoch (so the latent codes cannot drift far from one epoch to
    the next); the KL weight is ``gamma`` times the size of the shopper's history. Training
    alternates: ``encoder_passes`` passes update the encoder (input dropout ``dropout``),
    then the old-encoder snapshot is refreshed, then ``decoder_passes`` passes update the
    linear decoder (no dropout). Any history row can be scored: new clicks fold in directly.
    """

    binary_history: ClassVar[bool] = True
    name: ClassVar[str] = "recvae"

    def __init__(self, hidden: int = 600, latent: int = 200, dropout: float = 0.5,
                 gamma: float = 0.005, encoder_passes: int = 3, decoder_passes: int = 1,
                 epochs: int = 200, learning_rate: float = 5e-4, batch_size: int = 500,
                 patience: int = 10, progress: bool = True, random_state: int = 0) -> None:
        self.hidden = hidden
        self.latent = latent
        self.dropout = dropout
        self.gamma = gamma
        self.encoder_passes = encoder_passes
        self.decoder_passes = decoder_passes
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.patience = patience
        self.progress = progress
        self.random_state = random_state

    def _build(self, data: Dataset) -> None:
        if int(self.encoder_passes) < 1 or int(self.decoder_passes) < 1:
            raise ConfigError("encoder_passes and decoder_passes must be at least 1, not "
                              f"{self.encoder_passes!r} and {self.decoder_passes!r}")
        self.net_ = _RecVAENet(data.n_items, int(self.hidden), int(self.latent))
        self._rows = np.flatnonzero(data.user_counts > 0)

    def _train_epoch(self, data: Dataset, optimizer: torch.optim.Optimizer,
                     rng: np.random.Generator) -> float:
        # one Adam over both parts: an encoder pass drops the decoder's gradients before the
        # step (a decoder pass computes none for the encoder), and Adam keeps per-parameter
        # state, so this is the paper's two optimizers
        net, size = self.net_, int(self.batch_size)
        decoder = list(net.decoder.parameters())
        total, batches = 0.0, 0
        passes = [False] * int(self.encoder_passes) + [True] * int(self.decoder_passes)
        for number, decoder_only in enumerate(passes):
            if number == int(self.encoder_passes):
                net.encoder_old.load_state_dict(net.encoder.state_dict())
            dropout = 0.0 if decoder_only else float(self.dropout)
            rows = rng.permutation(self._rows)
            for start in range(0, len(rows), size):
                batch = torch.from_numpy(self.history_[rows[start:start + size]].toarray())
                loss = net.loss(batch, dropout, float(self.gamma), decoder_only)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if not decoder_only:
                    for param in decoder:
                        param.grad = None
                optimizer.step()
                total += float(loss.detach())
                batches += 1
        return total / max(1, batches)

    def _export(self) -> None:
        enc = self.net_.encoder
        with torch.no_grad():
            self.fc_w_ = np.stack([fc.weight.T.numpy() for fc in enc.fc[1:]])
            self.fc_b_ = np.stack([fc.bias.numpy() for fc in enc.fc])
            self.ln_w_ = np.stack([ln.weight.numpy() for ln in enc.ln])
            self.ln_b_ = np.stack([ln.bias.numpy() for ln in enc.ln])
            self.in_w_ = enc.fc[0].weight.T.numpy().copy()
            self.mu_w_ = enc.mu.weight.T.numpy().copy()
            self.mu_b_ = enc.mu.bias.numpy().copy()
            self.dec_w_ = self.net_.decoder.weight.T.numpy().copy()
            self.dec_b_ = self.net_.decoder.bias.numpy().copy()

    def _score(self, users: np.ndarray, history: sp.csr_matrix,
               attributes: pd.DataFrame | None) -> np.ndarray:
        def norm_layer(h: np.ndarray, layer: int) -> np.ndarray:
            mean = h.mean(axis=1, keepdims=True)
            var = h.var(axis=1, keepdims=True)
            return ((h - mean) / np.sqrt(var + _LAYER_NORM_EPS) * self.ln_w_[layer]
                    + self.ln_b_[layer])

        def swish(h: np.ndarray) -> np.ndarray:
            return h / (1.0 + np.exp(-h))

        n_known = self.dec_w_.shape[1]
        x = _unit_rows(history, n_known)
        h = norm_layer(swish(np.asarray(x @ self.in_w_) + self.fc_b_[0]), 0)
        total = h
        for layer in range(1, 5):
            h = norm_layer(swish(h @ self.fc_w_[layer - 1] + self.fc_b_[layer] + total), layer)
            total = total + h
        out = np.zeros((len(users), self.n_items_), dtype=np.float32)
        out[:, :n_known] = (h @ self.mu_w_ + self.mu_b_) @ self.dec_w_ + self.dec_b_
        return out


class _GCN(nn.Module):
    def __init__(self, n_users: int, n_items: int, dim: int) -> None:
        super().__init__()
        self.users = nn.Embedding(n_users, dim)
        self.items = nn.Embedding(n_items, dim)
        nn.init.xavier_uniform_(self.users.weight)
        nn.init.xavier_uniform_(self.items.weight)

    def propagate(self, adj: torch.Tensor, layers: int) -> list[torch.Tensor]:
        ego = torch.cat([self.users.weight, self.items.weight])
        out = [ego]
        for _ in range(layers):
            ego = _SymmetricSpMM.apply(adj, ego)
            out.append(ego)
        return out


class LightGCN(TorchRecommender, FactorModel):
    """LightGCN (He et al., SIGIR 2020): embeddings smoothed over the user–item graph.

    ``layers`` rounds of propagation with the symmetrically normalised adjacency (sparse
    matrix products, full graph per batch); final embedding = mean over layers; BPR loss
    with one sampled negative per positive pair and L2 on the batch's ego embeddings.
    ``negatives="popularity"`` debiases at training time: negatives are drawn with
    probability ∝ count^``negative_alpha``, so popular items are pushed down more often
    and the long tail gains ground (word2vec-style popularity-aware sampling).
    A new shopper is folded in by propagating from the items they touched through the
    trained item layers (no retraining); known shoppers use their trained embedding.
    """

    binary_history: ClassVar[bool] = True
    name: ClassVar[str] = "lightgcn"
    fold_in_exact: ClassVar[bool] = False

    def __init__(self, dim: int = 64, layers: int = 2, reg: float = 1e-5, epochs: int = 300,
                 learning_rate: float = 1e-2, batch_size: int = 4096, patience: int = 10,
                 negatives: Literal["uniform", "popularity"] = "uniform",
                 negative_alpha: float = 0.75, progress: bool = True,
                 random_state: int = 0) -> None:
        self.dim = dim
        self.layers = layers
        self.negatives = negatives
        self.negative_alpha = negative_alpha
        self.reg = reg
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.patience = patience
        self.progress = progress
        self.random_state = random_state

    def _build(self, data: Dataset) -> None:
        n_u, n_i = data.n_users, data.n_items
        R = sp.csr_matrix(self.history_)
        adj = sp.bmat([[None, R], [R.T, None]], format="csr")
        deg = np.asarray(adj.sum(axis=1)).ravel()
        inv = np.where(deg > 0, 1.0 / np.sqrt(np.maximum(deg, 1e-12)), 0.0)
        self._adj = _csr_to_torch(sp.diags(inv) @ adj @ sp.diags(inv))
        self.net_ = _GCN(n_u, n_i, int(self.dim))
        coo = R.tocoo()
        self._pos_u, self._pos_i = coo.row.astype(np.int64), coo.col.astype(np.int64)
        self._pos_keys = np.sort(self._pos_u * n_i + self._pos_i)
        self._neg_p = None
        if self.negatives == "popularity":
            weights = np.bincount(self._pos_i, minlength=n_i).astype(np.float64)
            weights = (weights + 1.0) ** float(self.negative_alpha)
            self._neg_p = weights / weights.sum()
        elif self.negatives != "uniform":
            raise ConfigError(f"negatives must be 'uniform' or 'popularity', "
                              f"not {self.negatives!r}")

    def _train_epoch(self, data: Dataset, optimizer: torch.optim.Optimizer,
                     rng: np.random.Generator) -> float:
        n_users = data.n_users
        order = rng.permutation(len(self._pos_u))
        negatives = self._negatives(self._pos_u[order], data.n_items, rng)
        total, batches = 0.0, 0
        for start in range(0, len(order), int(self.batch_size)):
            sel = order[start:start + int(self.batch_size)]
            u = torch.from_numpy(self._pos_u[sel])
            i = torch.from_numpy(self._pos_i[sel])
            j = torch.from_numpy(negatives[start:start + len(sel)])
            layers = self.net_.propagate(self._adj, int(self.layers))
            final = torch.stack(layers).mean(dim=0)
            eu, ei, ej = final[u], final[n_users + i], final[n_users + j]
            bpr = -nn.functional.logsigmoid((eu * ei).sum(1) - (eu * ej).sum(1)).mean()
            ego = layers[0]
            l2 = (ego[u].pow(2).sum() + ego[n_users + i].pow(2).sum()
                  + ego[n_users + j].pow(2).sum()) / (2 * len(sel))
            loss = bpr + float(self.reg) * l2
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach())
            batches += 1
        return total / max(1, batches)

    def _negatives(self, users: np.ndarray, n_items: int,
                   rng: np.random.Generator) -> np.ndarray:
        """One sampled item per row (uniform or popularity-weighted) that the user has not
        interacted with."""
        def draw(size: int) -> np.ndarray:
            if self._neg_p is None:
                return rng.integers(0, n_items, size=size)
            return rng.choice(n_items, size=size, p=self._neg_p)

        neg = draw(len(users))
        for _ in range(10):  # resample collisions with positives (rare in sparse data)
            keys = users * n_items + neg
            pos = np.searchsorted(self._pos_keys, keys)
            hit = self._pos_keys[np.minimum(pos, len(self._pos_keys) - 1)] == keys
            if not hit.any():
                break
            neg[hit] = draw(int(hit.sum()))
        return neg

    def _export(self) -> None:
        with torch.no_grad():
            layers = self.net_.propagate(self._adj, int(self.layers))
            stacked = torch.stack(layers)
        n_users = self.n_users_
        final = stacked.mean(dim=0).numpy()
        self.user_factors_ = final[:n_users].copy()
        self.item_factors_ = final[n_users:].copy()
        self.item_layers_ = stacked[:, n_users:].numpy().copy()  # (layers+1, items, dim)
        self.item_degree_ = np.asarray(self.history_.sum(axis=0)).ravel().astype(np.float32)

    def _fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        """Propagate from the touched items: e_u^(k+1) = Σ_i e_i^(k) / √(d_u d_i)."""
        rows = sp.csr_matrix(history, dtype=np.float32)
        rows.data[:] = 1.0
        d_u = np.maximum(np.diff(rows.indptr), 1).astype(np.float32)
        inv_i = 1.0 / np.sqrt(np.maximum(self.item_degree_, 1.0))
        weighted = sp.diags(1.0 / np.sqrt(d_u)) @ rows @ sp.diags(inv_i)
        layers = [np.zeros((rows.shape[0], self.item_layers_.shape[2]), dtype=np.float32)]
        for k in range(int(self.layers)):
            layers.append(np.asarray(weighted @ self.item_layers_[k]))
        return np.mean(layers, axis=0).astype(np.float32)


class BPR(LightGCN):
    """Matrix factorisation trained with the BPR pairwise loss (Rendle et al., UAI 2009).

    LightGCN with no propagation layer is exactly BPR-MF, so the two share one
    implementation and training loop. A new shopper is folded in by a weighted
    least-squares projection of their history onto the trained item factors.
    """

    name: ClassVar[str] = "bpr"

    def __init__(self, dim: int = 64, reg: float = 0.0, epochs: int = 300,
                 learning_rate: float = 1e-3, batch_size: int = 2048, patience: int = 10,
                 fold_in_reg: float = 1.0, fold_in_confidence: float = 10.0,
                 negatives: Literal["uniform", "popularity"] = "uniform",
                 negative_alpha: float = 0.75, progress: bool = True,
                 random_state: int = 0) -> None:
        super().__init__(dim=dim, layers=0, reg=reg, epochs=epochs,
                         learning_rate=learning_rate, batch_size=batch_size,
                         patience=patience, negatives=negatives,
                         negative_alpha=negative_alpha, progress=progress,
                         random_state=random_state)
        self.fold_in_reg = fold_in_reg
        self.fold_in_confidence = fold_in_confidence

    def _fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        """u = argmin Σ_i c_ui (p_ui − u·v_i)² + λ‖u‖² (p = 1, c = 1 + conf. on history)."""
        V = self.item_factors_.astype(np.float64)
        gram = V.T @ V
        eye = float(self.fold_in_reg) * np.eye(V.shape[1])
        conf = float(self.fold_in_confidence)
        out = np.zeros((history.shape[0], V.shape[1]), dtype=np.float32)
        for row in range(history.shape[0]):
            items = history.indices[history.indptr[row]:history.indptr[row + 1]]
            if len(items):
                Vi = V[items]
                out[row] = np.linalg.solve(gram + conf * Vi.T @ Vi + eye,
                                           (1.0 + conf) * Vi.sum(axis=0))
        return out
