"""Best low-rank approximation and the SVD (chapter ``low-rank-svd``, kexue.fm 10407).

NumPy in, NumPy out: array inputs are anything ``numpy.asarray`` accepts (CPU torch tensors
included), computed in float64; results are float64 NumPy arrays. Non-finite or wrongly shaped
input raises ``ValueError`` naming the argument. ``M`` is always an ``(n, m)`` matrix.

In the order the chapter uses them:

* :func:`pinv_via_svd` — ``V Sigma^+ U^T`` with a relative cut-off (eq-low-rank-svd-pinv);
* :func:`moore_penrose_residual` — the worst of the four Moore–Penrose conditions;
* :func:`best_rank_r` — the truncated SVD, the Eckart–Young optimum (eq-low-rank-svd-eym);
* :func:`spectral_by_induction` — the spectral theorem's inductive construction
  (eq-low-rank-svd-deflate);
* :func:`svd_via_eigh` — the SVD built from ``eigh(M^T M)`` (eq-low-rank-svd-construct);
* :func:`singular_value_errors`, :func:`rms_loglog_slope` — the precision experiment of the
  chapter (eq-low-rank-svd-loss): both routes on matrices with prescribed singular values;
* :func:`random_orthonormal_rows` — a Haar-random ``k x n`` matrix with orthonormal rows
  (the diagonal lemma, eq-low-rank-svd-weights);
* :func:`competitor_excess` — random rank-``r`` competitors against the Eckart–Young bound;
* :func:`als_low_rank`, :func:`als_errors` — alternating least squares for
  ``min ||AB - M||_F^2`` (eq-low-rank-svd-als), and :func:`als_rate`, its fitted decay ratio;
* :func:`plot_precision`, :func:`plot_competitors_and_als` — the chapter's two figures.

Contract: ``/work/shared/contracts/geometry.md`` (section 10407).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from lib import checks

__all__ = [
    "pinv_via_svd",
    "moore_penrose_residual",
    "best_rank_r",
    "spectral_by_induction",
    "svd_via_eigh",
    "singular_value_errors",
    "rms_loglog_slope",
    "random_orthonormal_rows",
    "competitor_excess",
    "als_low_rank",
    "als_errors",
    "als_rate",
    "plot_precision",
    "plot_competitors_and_als",
]

_EPS = float(np.finfo(np.float64).eps)


def _matrix(M, name: str = "M") -> np.ndarray:
    """``M`` as a finite float64 2-D array with at least one row and one column."""
    arr = checks.float64_array(M, name)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix, got shape {arr.shape}")
    if 0 in arr.shape:
        raise ValueError(f"{name} must have at least one row and one column, got shape {arr.shape}")
    return arr


def pinv_via_svd(M, rcond=None) -> np.ndarray:
    """Moore–Penrose pseudo-inverse ``V Sigma^+ U^T`` of ``M`` (n, m) -> (m, n).

    Chapter ``low-rank-svd``, Eq. (eq-low-rank-svd-pinv): singular values
    ``<= rcond * sigma_1`` count as zero (their reciprocal is replaced by 0); the default
    ``rcond = max(n, m) * eps(float64)`` is the usual rounding-level cut-off. ``M = 0`` gives 0.
    """
    M = _matrix(M)
    n, m = M.shape
    rcond = max(n, m) * _EPS if rcond is None else checks.real(rcond, "rcond", low=0.0)
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    keep = s > rcond * s[0]
    inv = np.zeros_like(s)
    inv[keep] = 1.0 / s[keep]
    return (Vt.T * inv) @ U.T


def moore_penrose_residual(M, X) -> float:
    """The worst of the four Moore–Penrose conditions for ``X`` (m, n) as ``M^+``, ``M`` (n, m).

    Chapter ``low-rank-svd``, Eq. (eq-low-rank-svd-pinv): the largest of
    ``||MXM - M||_2 / ||M||_2``, ``||XMX - X||_2 / ||X||_2``, ``||MX - (MX)^T||_2`` and
    ``||XM - (XM)^T||_2``. It is 0 exactly when ``X = M^+`` (Penrose), independently of any
    SVD. ValueError: ``X`` not of shape (m, n).
    """
    M, X = _matrix(M), _matrix(X, "X")
    if X.shape != M.shape[::-1]:
        raise ValueError(f"X must have shape {M.shape[::-1]} (that of M^T), got {X.shape}")
    tiny = np.finfo(np.float64).tiny
    MX, XM = M @ X, X @ M
    return float(max(np.linalg.norm(MX @ M - M, 2) / max(np.linalg.norm(M, 2), tiny),
                     np.linalg.norm(X @ MX - X, 2) / max(np.linalg.norm(X, 2), tiny),
                     np.linalg.norm(MX - MX.T, 2), np.linalg.norm(XM - XM.T, 2)))


def best_rank_r(M, r) -> np.ndarray:
    """The best rank-``<= r`` approximation ``sum_{i<=r} sigma_i u_i v_i^T`` of ``M`` (n, m).

    Chapter ``low-rank-svd``, Eq. (eq-low-rank-svd-eym) (Eckart–Young–Mirsky, optimal in the
    Frobenius and the spectral norm). ``r`` is an integer in ``[0, min(n, m)]``; ``r = 0``
    gives the zero matrix. When ``sigma_r = sigma_{r+1}`` the optimum is not unique and this
    returns the one LAPACK's singular vectors pick.
    """
    M = _matrix(M)
    r = checks.integer(r, "r", minimum=0, maximum=min(M.shape))
    if r == 0:
        return np.zeros_like(M)
    U, s, Vt = np.linalg.svd(M, full_matrices=False)
    return (U[:, :r] * s[:r]) @ Vt[:r]


def _complete_basis(u: np.ndarray) -> np.ndarray:
    """Columns ``Q`` (n, n-1) with ``(u, Q)`` orthogonal, for a unit vector ``u`` (n,)."""
    n = u.shape[0]
    # QR of (u, I): the first column is +-u, the others span its orthogonal complement.
    q, _ = np.linalg.qr(np.column_stack([u, np.eye(n)]))
    return q[:, 1:n]


def spectral_by_induction(M) -> tuple[np.ndarray, np.ndarray]:
    """``(lam (n,), U (n, n))`` with ``U`` orthogonal and ``U^T M U = diag(lam)``, by induction.

    Chapter ``low-rank-svd``, Eq. (eq-low-rank-svd-deflate): the proof of the spectral theorem
    turned into a recursion. Take one unit eigenvector ``u1`` of the symmetric ``M`` (the proof
    only needs that one exists; here it is the eigenvector of largest ``|lambda|`` returned by
    ``numpy.linalg.eigh``), complete it to an orthogonal ``(u1, Q)``, diagonalise the
    ``(n-1) x (n-1)`` block ``Q^T M Q`` recursively as ``W Lam_2 W^T``, and return
    ``U = (u1, Q W)``. Works for repeated and zero eigenvalues. ``lam`` is not sorted.
    ValueError: ``M`` not square, not symmetric (relative asymmetry above ``1e-12``).
    """
    M = _matrix(M)
    n = M.shape[0]
    if M.shape[1] != n:
        raise ValueError(f"M must be square, got shape {M.shape}")
    scale = max(float(np.abs(M).max()), np.finfo(np.float64).tiny)
    if float(np.abs(M - M.T).max()) > 1e-12 * scale:
        raise ValueError("M must be symmetric")
    return _spectral(0.5 * (M + M.T))


def _spectral(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = M.shape[0]
    if n == 1:
        return M[0].copy(), np.ones((1, 1))
    w, vecs = np.linalg.eigh(M)
    j = int(np.argmax(np.abs(w)))
    u1 = vecs[:, j]
    lam1 = float(u1 @ M @ u1)
    Q = _complete_basis(u1)
    block = Q.T @ M @ Q
    lam2, W = _spectral(0.5 * (block + block.T))
    return np.concatenate([[lam1], lam2]), np.column_stack([u1, Q @ W])


def svd_via_eigh(M, rtol=1e-6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thin SVD ``(U (n, r), s (r,), V (m, r))`` of ``M`` built from ``eigh(M^T M)``.

    Chapter ``low-rank-svd``, Eq. (eq-low-rank-svd-construct), the article's construction:
    ``M^T M = V Lambda V^T`` sorted decreasingly, ``s = sqrt(max(lambda, 0))``, keep the ``r``
    leading indices with ``s_i > rtol * s_1`` (``r = 0`` for ``M = 0``), ``U = M V diag(1/s)``.
    Then ``M ~= U @ diag(s) @ V.T`` (V, not V^T). Forming ``M^T M`` squares the condition
    number: singular values below ``~sqrt(eps) * s_1`` are not resolved (see the chapter).
    ``M`` is first divided by a power of two (exact), so huge or tiny entries stay finite.
    """
    M = _matrix(M)
    rtol = checks.real(rtol, "rtol", low=0.0)
    # Divide by a power of two near max|M| (exact) so that M^T M neither overflows nor
    # underflows; this changes no rounding error relative to the scale of M.
    top = float(np.abs(M).max())
    scale = 2.0 ** np.frexp(top)[1] if top > 0 else 1.0
    Ms = M / scale
    lam, V = np.linalg.eigh(Ms.T @ Ms)
    lam, V = lam[::-1], V[:, ::-1]
    s = np.sqrt(np.maximum(lam, 0.0))
    r = int(np.count_nonzero(s > rtol * s[0])) if s[0] > 0 else 0
    s, V = s[:r], np.ascontiguousarray(V[:, :r])
    U = (Ms @ V) / s if r else np.zeros((M.shape[0], 0))
    return U, s * scale, V


def singular_value_errors(sigma, n, trials, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Errors of the two SVD routes on ``trials`` random ``(n, m)`` matrices with known ``sigma``.

    Chapter ``low-rank-svd``, Eq. (eq-low-rank-svd-loss). Each matrix is
    ``U[:, :m] diag(sigma) V^T`` with Haar-random ``U`` (n, n), ``V`` (m, m)
    (``scipy.stats.ortho_group``), ``m = len(sigma) <= n``. Returns, each ``(trials, m)``:
    the relative error of every singular value from :func:`svd_via_eigh` with ``rtol=0``
    (dropped values count as 0, i.e. relative error 1), the same for ``numpy.linalg.svd``, and
    the eigenvalue errors ``eigvalsh(M^T M) - sigma^2`` (decreasing order). ``sigma``: positive,
    decreasing; ``rng`` a ``numpy.random.Generator``.
    """
    from scipy.stats import ortho_group  # imported here: scipy.stats is slow to import

    sigma = checks.float64_array(sigma, "sigma")
    if sigma.ndim != 1 or sigma.size == 0 or sigma.min() <= 0 or np.any(np.diff(sigma) > 0):
        raise ValueError("sigma must be a non-empty 1-D array of positive, decreasing values")
    m = sigma.size
    n = checks.integer(n, "n", minimum=m)
    trials = checks.integer(trials, "trials", minimum=1)
    rng = checks.generator(rng, "rng")
    rel_eigh, rel_svd, dlam = (np.empty((trials, m)) for _ in range(3))
    for i in range(trials):
        Mi = (ortho_group.rvs(n, random_state=rng)[:, :m] * sigma) @ ortho_group.rvs(
            m, random_state=rng).T
        s_e = svd_via_eigh(Mi, rtol=0.0)[1]
        rel_eigh[i] = np.abs(np.pad(s_e, (0, m - len(s_e))) - sigma) / sigma
        rel_svd[i] = np.abs(np.linalg.svd(Mi, compute_uv=False) - sigma) / sigma
        dlam[i] = np.linalg.eigvalsh(Mi.T @ Mi)[::-1] - sigma**2
    return rel_eigh, rel_svd, dlam


def rms_loglog_slope(rel, sigma, window) -> np.ndarray:
    """Least-squares slope of ``log10(RMS over rows of rel)`` against ``log10(sigma)``.

    Chapter ``low-rank-svd``, Eq. (eq-low-rank-svd-loss): the fitted exponent of the error law.
    ``rel`` (..., trials, m) relative errors, ``sigma`` (m,) positive, ``window`` (m,) boolean
    mask of the fitted points (at least two). Leading dimensions of ``rel`` are kept, so a
    bootstrap can pass a stack of resamples; all RMS values in the window must be positive.
    """
    rel = checks.float64_array(rel, "rel")
    sigma = checks.float64_array(sigma, "sigma")
    window = np.asarray(window, dtype=bool)
    if rel.ndim < 2 or sigma.shape != rel.shape[-1:] or window.shape != sigma.shape:
        raise ValueError("rel must be (..., trials, m) with sigma and window of shape (m,)")
    if window.sum() < 2 or sigma[window].min() <= 0:
        raise ValueError("window must select at least two positive sigma values")
    rms = np.sqrt((rel**2).mean(-2))[..., window]
    if rms.min() <= 0:
        raise ValueError("rel must have a positive RMS at every sigma in the window")
    xc = np.log10(sigma[window]) - np.log10(sigma[window]).mean()
    return (np.log10(rms) * xc).sum(-1) / (xc**2).sum()


def random_orthonormal_rows(k, n, rng) -> np.ndarray:
    """A Haar-distributed ``(k, n)`` matrix with orthonormal rows (``U U^T = I_k``).

    Chapter ``low-rank-svd``, Eq. (eq-low-rank-svd-weights): the matrices over which the
    diagonal lemma minimises. QR of a Gaussian ``(n, k)`` matrix with the signs of ``R``'s
    diagonal moved into ``Q`` (which makes the distribution exactly Haar).
    ``k`` in ``[1, n]``; ``rng`` a ``numpy.random.Generator``.
    """
    n = checks.integer(n, "n", minimum=1)
    k = checks.integer(k, "k", minimum=1, maximum=n)
    rng = checks.generator(rng, "rng")
    q, R = np.linalg.qr(rng.standard_normal((n, k)))
    signs = np.where(np.diag(R) < 0, -1.0, 1.0)
    return (q * signs).T


_FAMILIES = ("gaussian", "best-b", "perturbed")


def competitor_excess(M, r, family, rng, draws=10_000, chunk=1000) -> tuple[np.ndarray, ...]:
    """Relative excess ``(frobenius (draws,), spectral (draws,))`` of random rank-``r`` products.

    Chapter ``low-rank-svd``, Eq. (eq-low-rank-svd-eym): for each random ``X = AB`` it returns
    ``||X - M||_F^2 / sum_{j>r} sigma_j^2 - 1`` and ``||X - M||_2 / sigma_{r+1} - 1``, which the
    theorem says are ``>= 0``. Families: ``"gaussian"`` (Gaussian ``A`` (n, r) and ``B`` (r, m),
    ``AB`` scaled to unit-variance entries); ``"best-b"`` (Gaussian ``A`` with its optimal
    ``B = A^+ M``); ``"perturbed"`` (the optimum ``U_r Sigma_r``, ``V_r^T`` with both factors
    perturbed by Gaussian noise of size ``e``, ``log10 e ~ U(-6, -1)``). ``draws`` in blocks of
    ``chunk`` (``chunk`` must divide ``draws``). ValueError: ``r`` not in ``[1, min(n, m) - 1]``,
    unknown family, ``sigma_{r+1} = 0``.
    """
    M = _matrix(M)
    n, m = M.shape
    r = checks.integer(r, "r", minimum=1, maximum=min(n, m) - 1)
    family = checks.choice(family, "family", _FAMILIES)
    rng = checks.generator(rng, "rng")
    chunk = checks.integer(chunk, "chunk", minimum=1)
    draws = checks.integer(draws, "draws", minimum=chunk)
    if draws % chunk:
        raise ValueError(f"draws must be a multiple of chunk = {chunk}, got {draws}")
    U, s, Vt = np.linalg.svd(M)
    if s[r] <= 0:
        raise ValueError("M has rank <= r (sigma_{r+1} = 0): the relative excess is undefined")
    bound, A0, B0 = np.sum(s[r:] ** 2), U[:, :r] * s[:r], Vt[:r]
    fro, spec = [], []
    for _ in range(draws // chunk):
        G = rng.standard_normal((chunk, n, r))
        if family == "gaussian":
            Xs = G @ rng.standard_normal((chunk, r, m)) / np.sqrt(r)
        elif family == "best-b":
            Xs = G @ (np.linalg.pinv(G) @ M)
        else:
            e = 10 ** rng.uniform(-6, -1, size=(chunk, 1, 1))
            Xs = (A0 + e * G) @ (B0 + e * rng.standard_normal((chunk, r, m)))
        Rs = Xs - M
        fro.append(np.einsum("kij,kij->k", Rs, Rs) / bound - 1)
        spec.append(np.linalg.norm(Rs, ord=2, axis=(1, 2)) / s[r] - 1)
    return np.concatenate(fro), np.concatenate(spec)


def _als_steps(M, r, iters, rng):
    """Shared core of :func:`als_low_rank` / :func:`als_errors`: yields ``(A, B)`` per sweep."""
    M = _matrix(M)
    r = checks.integer(r, "r", minimum=1, maximum=min(M.shape))
    iters = checks.integer(iters, "iters", minimum=1)
    rng = np.random.default_rng(0) if rng is None else checks.generator(rng, "rng")
    B = rng.standard_normal((r, M.shape[1]))
    for _ in range(iters):
        A = np.linalg.lstsq(B.T, M.T, rcond=None)[0].T  # argmin_A ||A B - M||_F
        B = np.linalg.lstsq(A, M, rcond=None)[0]  # argmin_B ||A B - M||_F
        yield M, A, B


def als_low_rank(M, r, iters=100, rng=None) -> tuple[np.ndarray, np.ndarray]:
    """Alternating least squares for ``min_{A, B} ||AB - M||_F^2``: returns ``(A (n, r), B (r, m))``.

    Chapter ``low-rank-svd``, Eq. (eq-low-rank-svd-als): ``B = rng.standard_normal((r, m))``
    (``rng=None``: ``default_rng(0)``), then ``iters`` sweeps of
    ``A <- argmin_A ||AB - M||_F`` followed by ``B <- argmin_B ||AB - M||_F`` (least squares,
    minimum-norm when a factor is rank-deficient). ``r`` in ``[1, min(n, m)]``, ``iters >= 1``.
    """
    _, A, B = deque(_als_steps(M, r, iters, rng), maxlen=1)[0]  # the last sweep
    return A, B


def als_errors(M, r, iters=100, rng=None) -> np.ndarray:
    """``(iters,)`` the squared error ``||A_k B_k - M||_F^2`` after each ALS sweep ``k``.

    Chapter ``low-rank-svd``, Eq. (eq-low-rank-svd-als): the same iteration (same start for the
    same ``rng``) as :func:`als_low_rank`, whose result is the last sweep's ``(A, B)``.
    """
    return np.array([np.sum((A @ B - M) ** 2) for M, A, B in _als_steps(M, r, iters, rng)])


def als_rate(rel_excess, low=1e-12, high=1e-7) -> np.ndarray:
    """``(runs,)`` per-sweep decay ratio of each ALS run, fitted inside ``(low, high)``.

    Chapter ``low-rank-svd``, Eq. (eq-low-rank-svd-als): ``rel_excess`` (runs, sweeps) is the
    relative excess over the Eckart–Young bound after sweeps ``1, 2, ...``; for each run the
    result is ``exp`` of the least-squares slope of ``log(excess)`` against the sweep number
    over the sweeps with ``low < excess < high``. ValueError: ``0 < low < high`` violated,
    fewer than two sweeps of a run inside the window.
    """
    rel_excess = checks.float64_array(rel_excess, "rel_excess")
    if rel_excess.ndim != 2:
        raise ValueError(f"rel_excess must be (runs, sweeps), got shape {rel_excess.shape}")
    low = checks.real(low, "low", low=0.0, low_open=True)
    high = checks.real(high, "high", low=low, low_open=True)
    sweeps = np.arange(1, rel_excess.shape[1] + 1)
    rates = []
    for i, row in enumerate(rel_excess):
        win = (row > low) & (row < high)
        if win.sum() < 2:
            raise ValueError(f"rel_excess: run {i} has fewer than two sweeps in ({low}, {high})")
        rates.append(np.exp(np.polyfit(sweeps[win], np.log(row[win]), 1)[0]))
    return np.array(rates)


# -- the chapter's figures (matplotlib axes in, drawn on; nothing returned) -------------------
def plot_precision(ax, sigma, rms_eigh, rms_svd, c_eigh, c_svd) -> None:
    """Figure ``fig-low-rank-svd-precision``: RMS relative error per singular value, both routes.

    Chapter ``low-rank-svd``, Eq. (eq-low-rank-svd-loss): markers for ``rms_eigh`` and
    ``rms_svd`` (each (m,)) against ``sigma`` (m,), dashed predictions
    ``c_eigh eps / sigma^2`` and ``c_svd eps / sigma``, a dotted line at ``sqrt(eps)``.
    """
    ax.loglog(sigma, rms_eigh, "o", label=r"eigh of $M^\top M$ (svd_via_eigh)")
    ax.loglog(sigma, rms_svd, "s", label="numpy.linalg.svd")
    ax.loglog(sigma, c_eigh * _EPS / sigma**2, "--", color="C0",
              label=r"$c\,\varepsilon\sigma_1^2/2\sigma^2$")
    ax.loglog(sigma, c_svd * _EPS / sigma, "--", color="C1", label=r"$c'\varepsilon\sigma_1/\sigma$")
    ax.axvline(np.sqrt(_EPS), color="k", ls=":", lw=1)
    ax.set(ylim=(1e-17, 1e3), xlabel=r"singular value $\sigma_i$ ($\sigma_1=1$)",
           ylabel="relative error (RMS)")
    ax.invert_xaxis()
    ax.legend()


def plot_competitors_and_als(axes, excess, rel_excess, rho) -> None:
    """Figure ``fig-low-rank-svd-attempts`` on three axes: competitors (2 norms), then ALS.

    Chapter ``low-rank-svd``, Eqs. (eq-low-rank-svd-eym), (eq-low-rank-svd-als): ``excess`` maps
    a family label to the pair returned by :func:`competitor_excess` (log10 histograms, floored
    at 1e-18); ``rel_excess`` (runs, sweeps) is drawn against the sweep with the line
    ``rho^k`` through the median run at sweep 60 (or the last).
    """
    for j, (ax, title) in enumerate(zip(axes[:2], ["Frobenius", "spectral"], strict=True)):
        for c, (name, v) in enumerate(excess.items()):
            ax.hist(np.log10(np.maximum(v[j], 1e-18)), bins=60, color=f"C{c}", alpha=0.6,
                    label=name)
        ax.set(title=title, xlabel=r"$\log_{10}$ relative excess over the bound", ylabel="attempts")
    axes[0].legend(loc="upper left", fontsize=7)
    sweeps = np.arange(1, rel_excess.shape[1] + 1)
    axes[2].semilogy(sweeps, np.maximum(rel_excess, 1e-17).T, color="C0", alpha=0.35, lw=1)
    k0 = min(60, sweeps[-1])
    axes[2].semilogy(sweeps, np.median(rel_excess[:, k0 - 1]) * rho ** (sweeps - k0), "k--",
                     label=r"predicted $(\sigma_{r+1}/\sigma_r)^{4k}$")
    axes[2].set(title="ALS", ylim=(1e-17, 1), xlabel="sweep $k$", ylabel="relative excess")
    axes[2].legend()
