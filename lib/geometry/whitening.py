"""BERT-whitening with the two hyperparameters beta and gamma (chapter geometry/bert-whitening,
kexue.fm/archives/9079).

Sentence vectors are **rows**; the transform multiplies on the right:

    x~ = (x - beta mu) U Lambda^(-gamma/2),   Sigma_beta = (X - beta mu)^T (X - beta mu) / N = U Lambda U^T

with ``mu`` the mean row and ``Lambda`` sorted decreasingly; keeping the first ``k`` columns reduces
the dimension. ``beta = gamma = 1`` is the original BERT-whitening, ``beta = gamma = 0`` a rotation
(inner products kept), ``beta = 1, gamma = 0`` PCA scores.

Also here: row-wise cosines, the Spearman correlation of pair cosines with a gold score
(``scipy.stats.spearmanr``), the cosine-change bound for dropping coordinates, a synthetic STS
benchmark with a known similarity and a sweep of Spearman over a (beta, gamma, k) grid.

Conventions (contract ``shared/contracts/geometry.md``): array inputs are anything
``numpy.asarray`` accepts (CPU torch tensors included), computed in float64; results are float64
NumPy arrays. Bad input raises ``ValueError`` naming the argument.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as _sps

from lib import checks

__all__ = [
    "whitening_fit",
    "whitening_apply",
    "row_cosines",
    "cosine_spearman",
    "truncation_cosine_bound",
    "sts_toy",
    "spearman_grid",
]

_ZERO_EIG = 1e-12  # an eigenvalue <= _ZERO_EIG * lam[0] is numerically zero


def _matrix(X, name: str) -> np.ndarray:
    arr = checks.float64_array(X, name)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (rows are vectors), got shape {arr.shape}")
    return arr


def _eigh_decreasing(S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenpairs of a symmetric matrix, eigenvalues decreasing and clipped at 0; each
    eigenvector's largest-magnitude entry made positive (a deterministic sign)."""
    lam, U = np.linalg.eigh(S)
    order = np.argsort(-lam, kind="stable")
    lam, U = np.clip(lam[order], 0.0, None), U[:, order]
    rows = np.argmax(np.abs(U), axis=0)
    signs = np.where(U[rows, np.arange(U.shape[1])] < 0, -1.0, 1.0)
    return lam, U * signs


def whitening_fit(X, beta: float = 1.0, gamma: float = 1.0) -> dict:
    """Fit the (beta, gamma) whitening of chapter geometry/bert-whitening, Eq.
    (eq-bert-whitening-family).

    ``X``: (N, h), rows are vectors, ``N >= 2``. Returns a dict with ``"mu"`` (h,) ``= beta *
    X.mean(0)``; ``"lam"`` (h,) the eigenvalues of ``Sigma_beta = (X - mu)^T (X - mu) / N`` (1/N,
    not 1/(N-1)), decreasing, clipped at 0; ``"U"`` (h, h) orthogonal, column j a unit eigenvector
    for ``lam[j]`` (sign: largest-magnitude entry positive); ``"gamma"``, ``"beta"``; and, for a
    scale-free evaluation by :func:`whitening_apply`, ``"scale"`` (max |X|) and ``"lam_scaled"``
    (the eigenvalues for ``X / scale``). ``lam`` overflows to inf only if ``max|X|`` exceeds
    ~1e154; ``whitening_apply`` stays finite through the scaled keys.
    """
    X = _matrix(X, "X")
    n, h = X.shape
    if n < 2:
        raise ValueError(f"X needs at least 2 rows (N >= 2), got {n}")
    if h < 1:
        raise ValueError("X needs at least one column")
    beta = checks.real(beta, "beta")
    gamma = checks.real(gamma, "gamma")
    scale = float(np.abs(X).max()) or 1.0
    Xs = X / scale
    mu_s = beta * Xs.mean(axis=0)
    Y = Xs - mu_s
    lam_s, U = _eigh_decreasing(Y.T @ Y / n)
    return {"mu": mu_s * scale, "lam": lam_s * scale**2, "U": U, "gamma": gamma, "beta": beta,
            "scale": scale, "lam_scaled": lam_s}


def _params(params) -> tuple:
    if not isinstance(params, dict) or not {"mu", "U", "lam", "gamma"} <= set(params):
        raise ValueError("params must be the dict returned by whitening_fit "
                         "(keys 'mu', 'U', 'lam', 'gamma')")
    U = _matrix(params["U"], "params['U']")
    h = U.shape[0]
    mu = checks.float64_array(params["mu"], "params['mu']")
    lam = checks.float64_array(params["lam"], "params['lam']", finite_only=False)
    if U.shape != (h, h) or mu.shape != (h,) or lam.shape != (h,):
        raise ValueError(f"params: U {U.shape}, mu {mu.shape}, lam {lam.shape} do not fit "
                         "one dimension h")
    gamma = checks.real(params["gamma"], "params['gamma']")
    scale = params.get("scale", 1.0)
    lam_s = params.get("lam_scaled", lam)
    return mu, U, np.asarray(lam_s, dtype=np.float64), gamma, float(scale)


def whitening_apply(X, params: dict, k: int | None = None) -> np.ndarray:
    """``(X - mu) @ U[:, :k] * lam[:k] ** (-gamma / 2)``: chapter geometry/bert-whitening, Eq.
    (eq-bert-whitening-family), truncated to the first ``k`` columns (``k=None``: all h).

    ``X``: (N', h), any rows (not only the fitted ones). ValueError: X width != h; k not an
    integer in [1, h]; ``gamma > 0`` while a kept eigenvalue is numerically zero
    (``lam[j] <= 1e-12 * lam[0]``) -- truncate k first. When ``params`` holds the keys
    ``"scale"`` and ``"lam_scaled"`` (as returned by :func:`whitening_fit`) the product is
    evaluated in scaled units, which keeps it finite for huge or tiny inputs.
    """
    mu, U, lam_s, gamma, scale = _params(params)
    h = U.shape[0]
    X = _matrix(X, "X")
    if X.shape[1] != h:
        raise ValueError(f"X must have h = {h} columns like the fitted data, got {X.shape[1]}")
    k = h if k is None else checks.integer(k, "k", minimum=1, maximum=h)
    Y = (X / scale - mu / scale) @ U[:, :k]
    return Y * _column_weights(lam_s, gamma, k) * scale ** (1.0 - gamma)


def _column_weights(lam_s: np.ndarray, gamma: float, k: int) -> np.ndarray:
    """``lam_s[:k] ** (-gamma / 2)``, refusing a numerically zero eigenvalue when gamma > 0."""
    if gamma > 0 and not lam_s[k - 1] > _ZERO_EIG * lam_s[0]:
        good = int(np.sum(lam_s > _ZERO_EIG * lam_s[0]))
        raise ValueError(f"k = {k} keeps a numerically zero eigenvalue, which gamma = {gamma:g} "
                         f"would blow up; use k <= {good}")
    return lam_s[:k] ** (-gamma / 2)


def row_cosines(A, B) -> np.ndarray:
    """Cosine of each row of ``A`` with the same row of ``B``: (n, d), (n, d) -> (n,).

    Rows are rescaled by their largest entry when squaring could overflow or underflow.
    ValueError: shapes differ, not 2-D, a zero row (cosine undefined).
    """
    A, B = _matrix(A, "A"), _matrix(B, "B")
    if A.shape != B.shape:
        raise ValueError(f"B must have the shape of A {A.shape}, got {B.shape}")
    for M, name in ((A, "A"), (B, "B")):
        if not np.all(np.any(M != 0, axis=1)):
            raise ValueError(f"{name} has a zero row: its cosine is undefined")
    return _cos(A, B)


def _cos(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Row-wise cosines of non-zero rows; rows are rescaled by their largest entry only when
    squaring could overflow or underflow."""
    if A.shape[0] == 0:
        return np.empty(0)
    big = max(np.abs(A).max(), np.abs(B).max())
    small = min(np.abs(A).max(axis=1).min(), np.abs(B).max(axis=1).min())
    if small == 0:
        raise ValueError("A, B: a zero row (e.g. x = beta * mu after the transform): "
                         "its cosine is undefined")
    if big > 1e150 or small < 1e-150:
        A = A / np.abs(A).max(axis=1, keepdims=True)
        B = B / np.abs(B).max(axis=1, keepdims=True)
    na = np.sqrt(np.einsum("ij,ij->i", A, A))
    nb = np.sqrt(np.einsum("ij,ij->i", B, B))
    return np.clip(np.einsum("ij,ij->i", A, B) / (na * nb), -1.0, 1.0)


def cosine_spearman(A, B, gold) -> float:
    """Spearman correlation (``scipy.stats.spearmanr``) between the pair cosines
    ``row_cosines(A, B)`` and the gold scores ``gold`` (n,): the evaluation of chapter
    geometry/bert-whitening (as in Su's STS protocol). ValueError: lengths differ, n < 3, or
    constant cosines or gold (Spearman undefined).
    """
    c = row_cosines(A, B)
    g = checks.float64_array(gold, "gold")
    if g.shape != c.shape:
        raise ValueError(f"gold must have shape {c.shape} (one score per pair), got {g.shape}")
    return _spearman(c, g)


def _spearman(c: np.ndarray, g: np.ndarray) -> float:
    if g.size < 3:
        raise ValueError(f"gold needs at least 3 pairs, got {g.size}")
    if np.all(g == g[0]):
        raise ValueError("gold is constant: Spearman correlation undefined")
    if np.all(c == c[0]):
        raise ValueError("A, B give constant cosines: Spearman correlation undefined")
    return float(_sps.spearmanr(c, g).statistic)


def truncation_cosine_bound(A, B, k: int) -> np.ndarray:
    """Bound on how much dropping coordinates ``k:`` changes each pair's cosine: chapter
    geometry/bert-whitening, Eq. (eq-bert-whitening-trunc).

    With ``e = |row[k:]|^2 / |row|^2`` for a row of A and ``f`` for the row of B, returns
    ``max(e, f) + sqrt(e f)`` (n,), which bounds ``|cos(a[:k], b[:k]) - cos(a, b)|``.
    ValueError: shapes differ, k not in [1, d], a zero row.
    """
    A, B = _matrix(A, "A"), _matrix(B, "B")
    if A.shape != B.shape:
        raise ValueError(f"B must have the shape of A {A.shape}, got {B.shape}")
    k = checks.integer(k, "k", minimum=1, maximum=A.shape[1])
    eps = []
    for M, name in ((A, "A"), (B, "B")):
        m = np.abs(M).max(axis=1, keepdims=True)
        if np.any(m == 0):
            raise ValueError(f"{name} has a zero row: its cosine is undefined")
        sq = (M / m) ** 2
        eps.append(sq[:, k:].sum(axis=1) / sq.sum(axis=1))
    e, f = eps
    return np.maximum(e, f) + np.sqrt(e * f)


def _scales(x, name: str, *, allow_empty: bool = False) -> np.ndarray:
    arr = checks.float64_array(x, name)
    if arr.ndim != 1 or (arr.size == 0 and not allow_empty):
        raise ValueError(f"{name} must be a non-empty 1-D array of scales, got shape {arr.shape}")
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be positive")
    return arr


def sts_toy(n_pairs: int, rng: np.random.Generator, *, dim: int, latent_scales,
            gold_scales=None, latent_mean: float = 0.0, nuisance_scales=(),
            mean_norm: float = 0.0, noise: float = 0.0):
    """Synthetic sentence pairs with a known similarity (chapter geometry/bert-whitening, §3).

    Each sentence has a latent meaning ``z`` in R^d (``d = len(latent_scales)``). A pair draws
    ``rho ~ U(0, 1)``, ``z_a ~ N(0, I)``, ``z_b = rho z_a + sqrt(1 - rho^2) e``, then adds
    ``latent_mean`` to the first latent coordinate of both. Gold score: ``cos(z_a W, z_b W)`` with
    ``W = diag(gold_scales)`` (default: ones). Embedding of a sentence (one random orthonormal
    frame Q of R^dim per call):

        x = m + z diag(latent_scales) Q[:, :d]^T + u diag(nuisance_scales) Q[:, d:d+r]^T + noise * n

    with ``m`` of norm ``mean_norm`` in a random direction (the common direction), ``u ~ N(0, I_r)``
    drawn per sentence (directions that carry no meaning) and ``n ~ N(0, I_dim)``.
    Returns ``(A, B, gold)``: (n_pairs, dim), (n_pairs, dim), (n_pairs,).
    """
    n_pairs = checks.integer(n_pairs, "n_pairs", minimum=3)
    checks.generator(rng)
    dim = checks.integer(dim, "dim", minimum=1)
    ls = _scales(latent_scales, "latent_scales")
    gs = np.ones_like(ls) if gold_scales is None else _scales(gold_scales, "gold_scales")
    if gs.shape != ls.shape:
        raise ValueError(f"gold_scales must have the length of latent_scales {ls.size}, got {gs.size}")
    ns = _scales(nuisance_scales, "nuisance_scales", allow_empty=True)
    d, r = ls.size, ns.size
    if d + r > dim:
        raise ValueError(f"dim must be >= len(latent_scales) + len(nuisance_scales) = {d + r}, got {dim}")
    latent_mean = checks.real(latent_mean, "latent_mean")
    mean_norm = checks.real(mean_norm, "mean_norm", low=0.0)
    noise = checks.real(noise, "noise", low=0.0)
    Q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    S, N = ls[:, None] * Q[:, :d].T, ns[:, None] * Q[:, d:d + r].T
    m = rng.standard_normal(dim)
    m *= mean_norm / np.linalg.norm(m)
    rho = rng.uniform(0.0, 1.0, n_pairs)[:, None]
    za = rng.standard_normal((n_pairs, d))
    zb = rho * za + np.sqrt(1.0 - rho**2) * rng.standard_normal((n_pairs, d))
    za[:, 0] += latent_mean
    zb[:, 0] += latent_mean
    gold = row_cosines(za * gs, zb * gs)

    def embed(z):
        return m + z @ S + rng.standard_normal((n_pairs, r)) @ N \
            + noise * rng.standard_normal((n_pairs, dim))

    return embed(za), embed(zb), gold


def spearman_grid(A, B, gold, betas, gammas, ks, subsets=None) -> np.ndarray:
    """Spearman of pair cosines with ``gold`` after each (beta, gamma, k) whitening (chapter
    geometry/bert-whitening, §3): the whitening is fitted once per beta on all ``2n`` sentences
    (rows of A and B, no labels), then evaluated on each subset of pairs.

    ``subsets``: list of index arrays or boolean masks over the n pairs (``None``: all pairs).
    Returns an array of shape ``(len(subsets), len(betas), len(gammas), len(ks))``.
    """
    A, B = _matrix(A, "A"), _matrix(B, "B")
    if A.shape != B.shape:
        raise ValueError(f"B must have the shape of A {A.shape}, got {B.shape}")
    n, h = A.shape
    gold = checks.float64_array(gold, "gold")
    if gold.shape != (n,):
        raise ValueError(f"gold must have shape ({n},), got {gold.shape}")
    subsets = [np.arange(n)] if subsets is None else [np.asarray(s) for s in subsets]
    ks = [checks.integer(k, "ks", minimum=1, maximum=h) for k in ks]
    out = np.empty((len(subsets), len(betas), len(gammas), len(ks)))
    X = np.vstack([A, B])
    for i, beta in enumerate(betas):
        p = whitening_fit(X, beta=beta, gamma=0.0)
        Ya, Yb = whitening_apply(A, p), whitening_apply(B, p)  # rotated, unscaled
        for j, gamma in enumerate(gammas):
            gamma = checks.real(gamma, "gammas")
            for t, k in enumerate(ks):
                w = _column_weights(p["lam_scaled"], gamma, k)
                c = _cos(Ya[:, :k] * w, Yb[:, :k] * w)
                for s, idx in enumerate(subsets):
                    out[s, i, j, t] = _spearman(c[idx], gold[idx])
    return out
