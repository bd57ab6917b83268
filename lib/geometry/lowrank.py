"""Best low-rank approximation and the SVD (chapter ``low-rank-svd``, kexue.fm 10407).

NumPy in, NumPy out: array inputs are anything ``numpy.asarray`` accepts (CPU torch tensors
included), computed in float64; results are float64 NumPy arrays. Non-finite or wrongly shaped
input raises ``ValueError`` naming the argument. ``M`` is always an ``(n, m)`` matrix.

In the order the chapter uses them:

* :func:`pinv_via_svd` — ``V Sigma^+ U^T`` with a relative cut-off (eq-low-rank-svd-pinv);
* :func:`best_rank_r` — the truncated SVD, the Eckart–Young optimum (eq-low-rank-svd-eym);
* :func:`spectral_by_induction` — the spectral theorem's inductive construction
  (eq-low-rank-svd-deflate);
* :func:`svd_via_eigh` — the SVD built from ``eigh(M^T M)`` (eq-low-rank-svd-construct);
* :func:`random_orthonormal_rows` — a Haar-random ``k x n`` matrix with orthonormal rows
  (the diagonal lemma, eq-low-rank-svd-weights);
* :func:`als_low_rank`, :func:`als_errors` — alternating least squares for
  ``min ||AB - M||_F^2`` (eq-low-rank-svd-als).

Contract: ``/work/shared/contracts/geometry.md`` (section 10407).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from lib import checks

__all__ = [
    "pinv_via_svd",
    "best_rank_r",
    "spectral_by_induction",
    "svd_via_eigh",
    "random_orthonormal_rows",
    "als_low_rank",
    "als_errors",
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
