r"""T-TA: all single-token conditionals :math:`p(x_i\mid x_{\setminus i})` in one forward pass.

Chapter *T-TA: a faster MLM* (``chapters/transformers/tta-fast-mlm.md``), after Su Jianlin,
kexue.fm/archives/7661, and Shin et al. (2020), arXiv:2004.08097.

Contract part (shared/contracts/transformers.md, section "T-TA (7661)"):

* :class:`TTAEncoder` — queries start from the position embeddings, keys/values come from the
  input embeddings :math:`E+P` in every layer (``kv_source="input"``, eq. eq-tta-fast-mlm-tta)
  or from the previous layer's output (``kv_source="previous"``, the leaking variant), with the
  diagonal mask :func:`~lib.transformers.self_mask` in every layer;
* :func:`markov_conditionals` — the exact :math:`p(x_i=v\mid x_{\setminus i})` of a first-order
  Markov chain (eq. eq-tta-fast-mlm-markov).

Chapter tools (not in the contract): :func:`influence_matrix` (the exact swap test),
:func:`random_markov_chain` and :func:`sample_markov_chain` (the synthetic language),
:class:`MaskedLMEncoder` (the BERT-style baseline of the same size), :func:`mask_tokens`,
:func:`conditional_nll` (the per-position pseudo-log-likelihood terms) and
:func:`train_conditional_lm` (the training loop of the efficiency experiment).

Every attention goes through :func:`~lib.transformers.softmax_attention`. Tensors in, tensors
out; the model's dtype is kept (``.double()`` gives float64 logits); randomness only through an
explicit ``torch.Generator``.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lib import checks

from .attention import self_mask, softmax_attention

__all__ = [
    "TTAEncoder",
    "influence_matrix",
    "markov_conditionals",
    "random_markov_chain",
    "sample_markov_chain",
    "MaskedLMEncoder",
    "mask_tokens",
    "conditional_nll",
    "train_conditional_lm",
]

KV_SOURCES = ("input", "previous")


def _check_tokens(tokens, vocab_size: int, max_len: int) -> Tensor:
    """``tokens``: a 2-D integer tensor ``(B, T)`` with ``1 <= T <= max_len``, ids in range."""
    if not isinstance(tokens, Tensor) or tokens.dim() != 2 or tokens.is_floating_point() \
            or tokens.is_complex() or tokens.dtype == torch.bool:
        got = f"dtype {tokens.dtype}, shape {tuple(tokens.shape)}" if isinstance(tokens, Tensor) \
            else type(tokens).__name__
        raise ValueError(f"tokens must be a 2-D integer tensor (B, T), got {got}")
    T = tokens.shape[1]
    if not 1 <= T <= max_len:
        raise ValueError(f"tokens has length T={T}, which must lie in [1, max_len={max_len}]")
    if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= vocab_size):
        raise ValueError(f"tokens ids must lie in [0, {vocab_size - 1}]")
    return tokens.long()


class _Block(nn.Module):
    """Pre-LN Transformer layer acting on the query stream ``h``.

    Keys and values come from ``kv`` when it is given (T-TA), from the normalised stream itself
    when ``kv is None`` (self-attention). Everything except the attention is position-wise.
    """

    def __init__(self, d_model: int, n_heads: int, d_ff: int):
        super().__init__()
        self.n_heads = n_heads
        self.ln_att = nn.LayerNorm(d_model)
        self.q, self.k, self.v, self.o = (nn.Linear(d_model, d_model) for _ in range(4))
        self.ln_ff = nn.LayerNorm(d_model)
        self.ff1, self.ff2 = nn.Linear(d_model, d_ff), nn.Linear(d_ff, d_model)

    def forward(self, h: Tensor, kv: Tensor | None, mask: Tensor | None) -> Tensor:
        B, T, D = h.shape
        x = self.ln_att(h)
        src = x if kv is None else kv

        def heads(t: Tensor) -> Tensor:  # (B, T, D) -> (B, H, T, D/H)
            return t.reshape(B, T, self.n_heads, D // self.n_heads).transpose(1, 2)

        a = softmax_attention(heads(self.q(x)), heads(self.k(src)), heads(self.v(src)), mask)
        h = h + self.o(a.transpose(1, 2).reshape(B, T, D))
        return h + self.ff2(F.gelu(self.ff1(self.ln_ff(h))))


def _check_sizes(vocab_size, d_model, n_layers, n_heads, max_len, d_ff):
    vocab_size = checks.integer(vocab_size, "vocab_size", minimum=1)
    d_model = checks.integer(d_model, "d_model", minimum=1)
    n_layers = checks.integer(n_layers, "n_layers", minimum=1)
    n_heads = checks.integer(n_heads, "n_heads", minimum=1)
    max_len = checks.integer(max_len, "max_len", minimum=1)
    if d_model % n_heads:
        raise ValueError(f"n_heads={n_heads} must divide d_model={d_model}")
    d_ff = 4 * d_model if d_ff is None else checks.integer(d_ff, "d_ff", minimum=1)
    return vocab_size, d_model, n_layers, n_heads, max_len, d_ff


class TTAEncoder(nn.Module):
    r"""The T-TA encoder (chapter *T-TA*, eq. eq-tta-fast-mlm-tta).

    ``forward(tokens, *, mask_self=True)``: ``tokens (B, T)`` → logits ``(B, T, vocab_size)``.
    The query stream starts from the position embeddings :math:`Q_0=P`; with
    ``kv_source="input"`` every layer attends to the same :math:`\mathrm{LN}(E+P)` (own K/V
    projections per layer), with ``"previous"`` layer :math:`l\ge2` attends to the output of
    layer :math:`l-1` (the variant that leaks). ``mask_self`` puts the diagonal mask
    :func:`self_mask` in every layer. Only position-wise operations touch the query stream.
    """

    def __init__(self, vocab_size: int, d_model: int, n_layers: int, n_heads: int, max_len: int,
                 *, d_ff: int | None = None, kv_source: str = "input"):
        super().__init__()
        sizes = _check_sizes(vocab_size, d_model, n_layers, n_heads, max_len, d_ff)
        self.vocab_size, d_model, n_layers, n_heads, self.max_len, d_ff = sizes
        self.kv_source = checks.choice(kv_source, "kv_source", KV_SOURCES)
        self.tok = nn.Embedding(self.vocab_size, d_model)
        self.pos = nn.Embedding(self.max_len, d_model)
        self.ln_emb = nn.LayerNorm(d_model)
        self.blocks = nn.ModuleList(_Block(d_model, n_heads, d_ff) for _ in range(n_layers))
        self.ln_out = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, self.vocab_size)

    def forward(self, tokens: Tensor, *, mask_self: bool = True) -> Tensor:
        tokens = _check_tokens(tokens, self.vocab_size, self.max_len)
        B, T = tokens.shape
        pos = self.pos.weight[:T]
        kv = self.ln_emb(self.tok(tokens) + pos)  # E + P: the only place tokens enter
        h = pos.expand(B, T, -1)  # Q_0 = P
        mask = self_mask(T, device=tokens.device) if mask_self else None
        for layer, block in enumerate(self.blocks):
            src = kv if self.kv_source == "input" or layer == 0 else None
            h = block(h, src, mask)
        return self.head(self.ln_out(h))


@torch.no_grad()
def influence_matrix(model: nn.Module, tokens: Tensor, **forward_kwargs) -> Tensor:
    r"""Exact swap test (chapter *T-TA*, eq. eq-tta-fast-mlm-noleak): ``D[i, j]`` is the largest
    ``|logits[i] - logits'[i]|`` over every sequence ``x'`` that differs from ``tokens (T,)``
    in position ``j`` only (all ``V-1`` replacements). ``diag(D) == 0`` means no position sees
    its own token. Returns ``(T, T)`` in the model's dtype."""
    V = checks.integer(getattr(model, "vocab_size", None), "model.vocab_size", minimum=2)
    if not isinstance(tokens, Tensor) or tokens.dim() != 1:
        raise ValueError(f"tokens must be a 1-D integer tensor (T,), got {type(tokens).__name__}")
    tokens = _check_tokens(tokens[None], V, tokens.shape[0])[0]
    T = tokens.shape[0]
    base = model(tokens[None], **forward_kwargs)[0]  # (T, V)
    # every (position j, other id) variant in one batch: (T*(V-1), T)
    others = torch.stack([torch.cat([torch.arange(t), torch.arange(t + 1, V)]) for t in tokens.tolist()])
    var = tokens.repeat(T * (V - 1), 1)
    rows = torch.arange(T * (V - 1))
    var[rows, rows // (V - 1)] = others.reshape(-1).to(tokens.device)
    diff = (model(var, **forward_kwargs) - base).abs().amax(-1)  # (T*(V-1), T): [variant, i]
    return diff.reshape(T, V - 1, T).amax(1).T  # [i, j]


def markov_conditionals(tokens: Tensor, P: Tensor, pi: Tensor) -> Tensor:
    r"""Exact :math:`p(x_i=v\mid x_{\setminus i})` of a first-order Markov chain (chapter *T-TA*,
    eq. eq-tta-fast-mlm-markov): ``tokens (..., T)`` → ``(..., T, V)`` in ``P``'s dtype.

    ``P[a, b] = P(x_{t+1}=b | x_t=a)``, ``pi`` the law of :math:`x_1`. Position 1 is
    :math:`\propto \pi(v)P[v,x_2]`, inner positions :math:`\propto P[x_{i-1},v]P[v,x_{i+1}]`,
    the last :math:`\propto P[x_{T-1},v]`; ``T = 1`` gives ``pi``.
    """
    checks.finite(P, "P", ndim=2)
    V = P.shape[0]
    if P.shape != (V, V):
        raise ValueError(f"P must be square (V, V), got shape {tuple(P.shape)}")
    if (P < 0).any() or ((P.sum(-1) - 1).abs() > 1e-6).any():
        raise ValueError("P must be row-stochastic (non-negative rows summing to 1, tol 1e-6)")
    checks.finite(pi, "pi", ndim=1)
    if pi.shape != (V,) or (pi < 0).any() or abs(float(pi.sum()) - 1) > 1e-6:
        raise ValueError(f"pi must be a probability vector of length V={V}")
    if not isinstance(tokens, Tensor) or tokens.dim() < 1 or tokens.is_floating_point() \
            or tokens.dtype == torch.bool:
        raise ValueError("tokens must be an integer tensor (..., T)")
    if tokens.shape[-1] < 1:
        raise ValueError("tokens must have length T >= 1")
    if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= V):
        raise ValueError(f"tokens ids must lie in [0, {V - 1}]")
    tokens = tokens.long().to(P.device)
    pi = pi.to(P.dtype)
    left = torch.cat([pi.expand(*tokens.shape[:-1], 1, V), P[tokens[..., :-1]]], -2)  # (..., T, V)
    right = torch.cat([P.T[tokens[..., 1:]], torch.ones_like(left[..., :1, :])], -2)
    w = left * right
    z = w.sum(-1, keepdim=True)
    if (z <= 0).any():
        raise ValueError("tokens contain a sequence of probability 0 under (P, pi): a normaliser is 0")
    return w / z


def random_markov_chain(V: int, k: int, *, generator: torch.Generator | None = None,
                        dtype: torch.dtype = torch.float64) -> tuple[Tensor, Tensor]:
    """A sparse random chain for the synthetic language (chapter *T-TA*, experiment): each row of
    ``P (V, V)`` puts Dirichlet(1) weights on ``k`` random successors; ``pi`` is uniform."""
    V = checks.integer(V, "V", minimum=1)
    k = checks.integer(k, "k", minimum=1, maximum=V)
    cols = torch.rand(V, V, generator=generator).argsort(-1)[:, :k]
    w = -torch.log(torch.rand(V, k, generator=generator, dtype=torch.float64))  # Exp(1) -> Dirichlet
    P = torch.zeros(V, V, dtype=torch.float64).scatter_(1, cols, w / w.sum(-1, keepdim=True))
    return P.to(dtype), torch.full((V,), 1.0 / V, dtype=dtype)


def sample_markov_chain(P: Tensor, pi: Tensor, n: int, T: int, *,
                        generator: torch.Generator | None = None) -> Tensor:
    """``n`` sequences of length ``T`` from the chain ``(P, pi)``: LongTensor ``(n, T)``."""
    markov_conditionals(torch.zeros(1, dtype=torch.long), P, pi)  # validates P and pi
    n = checks.integer(n, "n", minimum=1)
    T = checks.integer(T, "T", minimum=1)
    x = torch.multinomial(pi.double().expand(n, -1), 1, generator=generator)
    Pd = P.double()
    for _ in range(T - 1):
        x = torch.cat([x, torch.multinomial(Pd[x[:, -1]], 1, generator=generator)], 1)
    return x


class MaskedLMEncoder(nn.Module):
    """The BERT-style baseline of the same size (chapter *T-TA*, eq. eq-tta-fast-mlm-bert): one
    extra embedding row ``mask_id = vocab_size`` for [MASK], input :math:`E+P` as the stream,
    plain self-attention (no mask) in every layer, the same layers and head as
    :class:`TTAEncoder`. ``forward(tokens)`` → logits ``(B, T, vocab_size)``."""

    def __init__(self, vocab_size: int, d_model: int, n_layers: int, n_heads: int, max_len: int,
                 *, d_ff: int | None = None):
        super().__init__()
        sizes = _check_sizes(vocab_size, d_model, n_layers, n_heads, max_len, d_ff)
        self.vocab_size, d_model, n_layers, n_heads, self.max_len, d_ff = sizes
        self.mask_id = self.vocab_size
        self.tok = nn.Embedding(self.vocab_size + 1, d_model)
        self.pos = nn.Embedding(self.max_len, d_model)
        self.ln_emb = nn.LayerNorm(d_model)
        self.blocks = nn.ModuleList(_Block(d_model, n_heads, d_ff) for _ in range(n_layers))
        self.ln_out = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, self.vocab_size)

    def forward(self, tokens: Tensor) -> Tensor:
        tokens = _check_tokens(tokens, self.vocab_size + 1, self.max_len)
        h = self.ln_emb(self.tok(tokens) + self.pos.weight[: tokens.shape[1]])
        for block in self.blocks:
            h = block(h, None, None)
        return self.head(self.ln_out(h))


def mask_tokens(tokens: Tensor, mask_id: int, rate: float, *,
                generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """MLM corruption (chapter *T-TA*, experiment): each position independently becomes a target
    with probability ``rate`` and is replaced by ``mask_id``. Returns ``(inputs, targets)`` with
    ``targets`` a bool tensor of the shape of ``tokens``."""
    checks.tensor(tokens, "tokens", min_ndim=1)
    mask_id = checks.integer(mask_id, "mask_id", minimum=0)
    rate = checks.real(rate, "rate", low=0.0, high=1.0, low_open=True)
    targets = torch.rand(tokens.shape, generator=generator) < rate
    return tokens.masked_fill(targets.to(tokens.device), mask_id), targets.to(tokens.device)


def conditional_nll(model: nn.Module, tokens: Tensor) -> Tensor:
    r"""``-log q(x_i | x_{\setminus i})`` for every position (chapter *T-TA*,
    eq. eq-tta-fast-mlm-pll): ``tokens (B, T)`` → ``(B, T)``. A :class:`TTAEncoder` gives all
    ``T`` terms in one pass; a :class:`MaskedLMEncoder` needs ``T`` passes (one [MASK] each),
    run here as one batch of ``B*T`` sequences."""
    if isinstance(model, TTAEncoder):
        logp = model(tokens).log_softmax(-1)
        return -logp.gather(-1, tokens.long()[..., None])[..., 0]
    if isinstance(model, MaskedLMEncoder):
        tokens = _check_tokens(tokens, model.vocab_size, model.max_len)
        B, T = tokens.shape
        eye = torch.eye(T, dtype=torch.bool, device=tokens.device)
        inp = torch.where(eye, model.mask_id, tokens[:, None, :]).reshape(B * T, T)
        logp = model(inp).log_softmax(-1).reshape(B, T, T, -1)[:, eye]  # (B, T, V): row i, pos i
        return -logp.gather(-1, tokens[..., None])[..., 0]
    raise ValueError(f"model must be a TTAEncoder or MaskedLMEncoder, got {type(model).__name__}")


def train_conditional_lm(model: nn.Module, train_tokens: Tensor, eval_tokens: Tensor, *,
                         steps: int, batch_size: int, lr: float, eval_every: int,
                         mask_rate: float = 0.15,
                         generator: torch.Generator | None = None) -> dict[str, Tensor]:
    """Adam on the model's own objective (chapter *T-TA*, experiment): T-TA predicts every
    position of every sequence; the MLM baseline only its masked positions (``mask_rate``).

    Batches are consecutive rows of ``train_tokens`` (cycled). Every ``eval_every`` steps (and
    at step 0) the mean of :func:`conditional_nll` on ``eval_tokens`` is recorded. Returns
    ``{"step", "cpu_seconds", "nll", "targets"}``: steps done, CPU seconds spent in training
    steps only (``time.process_time``; evaluation excluded), eval NLL, supervised targets seen.
    """
    steps = checks.integer(steps, "steps", minimum=1)
    batch_size = checks.integer(batch_size, "batch_size", minimum=1)
    eval_every = checks.integer(eval_every, "eval_every", minimum=1)
    lr = checks.real(lr, "lr", low=0.0, low_open=True)
    is_mlm = isinstance(model, MaskedLMEncoder)
    if not (is_mlm or isinstance(model, TTAEncoder)):
        raise ValueError(f"model must be a TTAEncoder or MaskedLMEncoder, got {type(model).__name__}")
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    log = {"step": [], "cpu_seconds": [], "nll": [], "targets": []}
    cpu, targets = 0.0, 0

    def evaluate(step):
        with torch.no_grad():
            log["nll"].append(float(conditional_nll(model, eval_tokens).mean()))
        log["step"].append(step)
        log["cpu_seconds"].append(cpu)
        log["targets"].append(targets)

    evaluate(0)
    n = train_tokens.shape[0]
    for step in range(1, steps + 1):
        t0 = time.process_time()
        idx = torch.arange((step - 1) * batch_size, step * batch_size) % n
        x = train_tokens[idx]
        if is_mlm:
            inp, tgt = mask_tokens(x, model.mask_id, mask_rate, generator=generator)
            logits = model(inp)[tgt]
            loss = F.cross_entropy(logits, x[tgt]) if logits.shape[0] else logits.sum()
            targets += int(tgt.sum())
        else:
            loss = F.cross_entropy(model(x).flatten(0, 1), x.flatten())
            targets += x.numel()
        opt.zero_grad()
        loss.backward()
        opt.step()
        cpu += time.process_time() - t0
        if step % eval_every == 0:
            evaluate(step)
    return {k: torch.tensor(v, dtype=torch.float64) for k, v in log.items()}
