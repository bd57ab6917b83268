r"""P-tuning at toy scale (chapter *P-tuning*, kexue.fm 8295).

The mechanism, exactly as the article implements it:

* :func:`stop_gradient_rows` — :math:`E\odot M + \mathrm{sg}(E)\odot(1-M)` (eq. eq-p-tuning-sg):
  the forward value is ``E``; only the rows in ``trainable_ids`` receive gradient;
* :class:`PartialTrainableEmbedding` — an embedding layer built on it (one full ``weight``);
* :func:`prompt_concat` — continuous prompt vectors placed before (or after) the token embeddings.

The toy world the chapter measures it in (NumPy/torch, seeded by explicit generators):

* :class:`SentimentToy` — a synthetic vocabulary and sentence sampler. Pre-training text is
  ``[BOS] genre w_1..w_L . marker``: in the "review" genre the marker ``good``/``bad`` tells the
  majority polarity of the sentiment words, in the "topic" genre which of two topics dominates;
  the downstream task has no genre token, and a few words that were neutral in pre-training
  carry sentiment (a domain shift);
* :class:`PromptLM` — a 2-layer pre-LN causal Transformer without position embeddings, built
  on ``lib.transformers.softmax_attention``;
* :func:`cloze_logits`, :func:`pretrain_lm`, :func:`prompt_tune`, :func:`fine_tune`,
  :func:`linear_probe` — the training procedures compared in the chapter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lib import checks
from lib.transformers.attention import softmax_attention, window_causal_mask

__all__ = [
    "stop_gradient_rows",
    "PartialTrainableEmbedding",
    "prompt_concat",
    "SentimentToy",
    "PromptLM",
    "cloze_logits",
    "pretrain_lm",
    "prompt_tune",
    "fine_tune",
    "cloze_predict",
    "linear_probe",
]


def _row_ids(trainable_ids, n: int, name: str = "trainable_ids") -> Tensor:
    ids = torch.as_tensor(trainable_ids if not isinstance(trainable_ids, Tensor) else trainable_ids.cpu())
    if ids.numel() == 0:
        return torch.zeros(0, dtype=torch.long)
    if ids.is_floating_point() or ids.dtype == torch.bool:
        raise ValueError(f"{name} must hold integer row indices, got dtype {ids.dtype}")
    ids = ids.reshape(-1).long()
    if ids.min() < 0 or ids.max() >= n:
        raise ValueError(f"{name} must lie in [0, {n}), got min {int(ids.min())}, max {int(ids.max())}")
    return ids


def stop_gradient_rows(weight: Tensor, trainable_ids) -> Tensor:
    r"""``weight * M + weight.detach() * (1 - M)`` with ``M[r] = 1[r in trainable_ids]``
    (chapter *P-tuning*, eq. eq-p-tuning-sg). Forward value equal to ``weight``; rows outside
    ``trainable_ids`` get exactly zero gradient. ``weight`` (N, d) float; ids: list, tuple or
    LongTensor (duplicates allowed). Dtype and device preserved."""
    checks.floating(weight, "weight", ndim=2)
    ids = _row_ids(trainable_ids, weight.shape[0])
    mask = torch.zeros(weight.shape[0], 1, dtype=torch.bool, device=weight.device)
    mask[ids.to(weight.device)] = True
    # the selection form of the masked sum: the same value and gradient, and exact even for
    # non-finite entries (inf * 0 would give NaN in the multiply-add spelling)
    return torch.where(mask, weight, weight.detach())


class PartialTrainableEmbedding(nn.Module):
    """Embedding whose one ``weight`` (N, d), init N(0, 1), trains only ``trainable_ids``
    (chapter *P-tuning*, eq. eq-p-tuning-sg). ``forward(ids)`` -> ``ids.shape + (d,)``."""

    def __init__(self, num_embeddings: int, embedding_dim: int, trainable_ids):
        super().__init__()
        n = checks.integer(num_embeddings, "num_embeddings", minimum=1)
        d = checks.integer(embedding_dim, "embedding_dim", minimum=1)
        self.register_buffer("trainable_ids", _row_ids(trainable_ids, n), persistent=False)
        self.weight = nn.Parameter(torch.randn(n, d))

    def forward(self, ids: Tensor) -> Tensor:
        checks.tensor(ids, "ids")
        if ids.is_floating_point() or ids.dtype == torch.bool:
            raise ValueError(f"ids must be an integer tensor, got dtype {ids.dtype}")
        if ids.numel() and (ids.min() < 0 or ids.max() >= self.weight.shape[0]):
            raise ValueError(f"ids must lie in [0, {self.weight.shape[0]})")
        return F.embedding(ids, stop_gradient_rows(self.weight, self.trainable_ids))


def prompt_concat(prompts: Tensor, embeds: Tensor, where: str = "prefix") -> Tensor:
    """Prompt vectors ``(P, d)`` (shared) or ``(B, P, d)`` joined to ``embeds`` ``(B, T, d)``:
    ``"prefix"`` -> ``cat([prompts, embeds], 1)``, ``"suffix"`` -> ``cat([embeds, prompts], 1)``
    (chapter *P-tuning*, eq. eq-p-tuning-template). Differentiable in both."""
    checks.choice(where, "where", ("prefix", "suffix"))
    checks.floating(embeds, "embeds", ndim=3)
    checks.floating(prompts, "prompts")
    if prompts.ndim == 2:
        prompts = prompts.unsqueeze(0).expand(embeds.shape[0], -1, -1)
    if prompts.ndim != 3:
        raise ValueError(f"prompts must be (P, d) or (B, P, d), got shape {tuple(prompts.shape)}")
    if prompts.shape[-1] != embeds.shape[-1]:
        raise ValueError(f"prompts width d={prompts.shape[-1]} differs from embeds d={embeds.shape[-1]}")
    if prompts.shape[0] != embeds.shape[0]:
        raise ValueError(f"prompts batch {prompts.shape[0]} differs from embeds batch {embeds.shape[0]}")
    parts = [prompts.to(embeds.dtype), embeds]
    return torch.cat(parts if where == "prefix" else parts[::-1], dim=1)


# -- the toy world ----------------------------------------------------------------------------
@dataclass(frozen=True)
class SentimentToy:
    """Vocabulary and sampler of the chapter's synthetic corpus (NumPy generator in, LongTensor
    out). Token ids: 0 PAD, 1 BOS, 2 ".", 3 good, 4 bad, 5 genre "review", 6 genre "topic",
    7..7+n_unused-1 never-used tokens (the article's ``[unused*]``), then ``n_pos`` positive,
    ``n_neg`` negative, ``n_topic`` topic-A, ``n_topic`` topic-B and ``n_neutral`` neutral words.
    A sentence holds 1 or 3 sentiment words and 1 or 3 topic words; in the review genre the
    marker says whether the sentiment words are mostly positive, in the topic genre whether the
    topic words are mostly topic A. The first ``n_domain`` neutral words (half positive, half
    negative) carry sentiment in the downstream task only (a domain shift)."""

    n_unused: int = 8
    n_pos: int = 8
    n_neg: int = 8
    n_topic: int = 6
    n_neutral: int = 16
    n_domain: int = 4
    max_words: int = 8
    noise: float = 0.05

    PAD, BOS, DOT, GOOD, BAD, REVIEW, TOPIC = range(7)

    @property
    def unused_ids(self) -> list[int]:
        return list(range(7, 7 + self.n_unused))

    @property
    def vocab_size(self) -> int:
        return 7 + self.n_unused + self.n_pos + self.n_neg + 2 * self.n_topic + self.n_neutral

    def _pools(self):
        sizes = [self.n_pos, self.n_neg, self.n_topic, self.n_topic, self.n_neutral]
        edges = np.cumsum([7 + self.n_unused] + sizes)
        return [np.arange(lo, hi) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]

    def sample(self, n: int, rng: np.random.Generator, *, task: str = "pretrain"):
        """``n`` sentences. ``task="pretrain"``: ``[BOS] genre w.. . marker`` (review or topic
        genre with probability 1/2; the marker is wrong with probability ``noise``);
        ``task="downstream"``: ``[BOS] w.. .`` with domain words carrying sentiment, labelled
        by sentiment. Returns ``(ids (n, T) long, labels (n,) long, 1 = positive, dot (n,)
        long = index of ".")``."""
        n = checks.integer(n, "n", minimum=1)
        checks.generator(rng)
        checks.choice(task, "task", ("pretrain", "downstream"))
        pos, neg, top_a, top_b, neu = self._pools()
        h = self.n_domain // 2
        if task == "downstream":
            pos, neg, neu = (np.concatenate([pos, neu[:h]]), np.concatenate([neg, neu[h:2 * h]]),
                             neu[2 * h:])
        m = self.max_words
        length = rng.integers(6, m + 1, n)
        words = rng.choice(neu, size=(n, m))
        k_s, k_t = rng.choice([1, 3], size=n), rng.choice([1, 3], size=n)
        keys = np.where(np.arange(m) < length[:, None], rng.random((n, m)), np.inf)
        slots = np.argsort(keys, axis=1)
        j = np.arange(m)
        is_s = j < k_s[:, None]
        is_t = (j >= k_s[:, None]) & (j < (k_s + k_t)[:, None])
        flip = rng.integers(0, 2, (n, m))  # 1 = positive / topic A
        w_s = np.where(flip == 1, rng.choice(pos, size=(n, m)), rng.choice(neg, size=(n, m)))
        w_t = np.where(flip == 1, rng.choice(top_a, size=(n, m)), rng.choice(top_b, size=(n, m)))
        rows = np.repeat(np.arange(n), m).reshape(n, m)
        words[rows[is_s], slots[is_s]] = w_s[is_s]
        words[rows[is_t], slots[is_t]] = w_t[is_t]
        sentiment = ((2 * flip - 1) * is_s).sum(1) > 0
        topic = ((2 * flip - 1) * is_t).sum(1) > 0
        off = 2 if task == "pretrain" else 1
        ids = np.full((n, off + m + 2), self.PAD, dtype=np.int64)
        ids[:, 0] = self.BOS
        ids[:, off:off + m] = np.where(j < length[:, None], words, self.PAD)
        dot = off + length
        ids[np.arange(n), dot] = self.DOT
        if task == "pretrain":
            is_topic = rng.random(n) < 0.5
            ids[:, 1] = np.where(is_topic, self.TOPIC, self.REVIEW)
            says_good = np.where(is_topic, topic, sentiment) ^ (rng.random(n) < self.noise)
            ids[np.arange(n), dot + 1] = np.where(says_good, self.GOOD, self.BAD)
        else:
            ids = ids[:, :-1]
        return torch.from_numpy(ids), torch.from_numpy(sentiment.astype(np.int64)), torch.from_numpy(dot)


class PromptLM(nn.Module):
    """Pre-LN causal Transformer, no position embeddings, untied output layer (chapter
    *P-tuning*, the frozen LM). Attention is ``lib.transformers.softmax_attention`` with
    ``window_causal_mask``. ``forward(ids, trainable_rows=None)`` -> ``(logits (B, T, V),
    hidden (B, T, d))``; ``trainable_rows`` routes the token embedding through
    :func:`stop_gradient_rows`."""

    def __init__(self, vocab_size: int, d: int = 32, layers: int = 2, heads: int = 2):
        super().__init__()
        self.vocab_size = checks.integer(vocab_size, "vocab_size", minimum=2)
        d = checks.integer(d, "d", minimum=1)
        self.heads = checks.integer(heads, "heads", minimum=1)
        if d % self.heads:
            raise ValueError(f"d={d} must be divisible by heads={heads}")
        layers = checks.integer(layers, "layers", minimum=1)
        self.embed = nn.Embedding(self.vocab_size, d)
        self.blocks = nn.ModuleList(nn.ModuleDict({
            "ln1": nn.LayerNorm(d), "qkv": nn.Linear(d, 3 * d), "out": nn.Linear(d, d),
            "ln2": nn.LayerNorm(d), "mlp": nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d)),
        }) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)
        self.head = nn.Linear(d, self.vocab_size)

    def forward(self, ids: Tensor, trainable_rows=None):
        checks.tensor(ids, "ids", ndim=2)
        if ids.is_floating_point() or ids.numel() == 0 or ids.min() < 0 or ids.max() >= self.vocab_size:
            raise ValueError(f"ids must be a non-empty integer tensor with values in [0, {self.vocab_size})")
        w = self.embed.weight if trainable_rows is None else stop_gradient_rows(self.embed.weight, trainable_rows)
        x = F.embedding(ids, w)
        B, T, d = x.shape
        mask = window_causal_mask(T, device=x.device)
        for blk in self.blocks:
            q, k, v = blk["qkv"](blk["ln1"](x)).view(B, T, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
            a = softmax_attention(q, k, v, mask).transpose(1, 2).reshape(B, T, d)
            x = x + blk["out"](a)
            x = x + blk["mlp"](blk["ln2"](x))
        h = self.ln_f(x)
        return self.head(h), h


def cloze_logits(logits: Tensor, positions: Tensor, label_ids) -> Tensor:
    """``logits[b, positions[b], label_ids]`` -> ``(B, K)``: the verbalizer's scores at the
    prediction slot (chapter *P-tuning*, eq. eq-p-tuning-cloze). Dtype preserved."""
    checks.floating(logits, "logits", ndim=3)
    positions = torch.as_tensor(positions)
    if positions.shape != (logits.shape[0],) or positions.is_floating_point():
        raise ValueError(f"positions must be an integer tensor of shape ({logits.shape[0]},)")
    if positions.min() < 0 or positions.max() >= logits.shape[1]:
        raise ValueError(f"positions must lie in [0, {logits.shape[1]})")
    lab = _row_ids(label_ids, logits.shape[2], "label_ids")
    if lab.numel() < 2:
        raise ValueError("label_ids must name at least two label words")
    return logits[torch.arange(logits.shape[0]), positions.long()][:, lab.to(logits.device)]


def pretrain_lm(model: PromptLM, toy: SentimentToy, rng: np.random.Generator, *,
                steps: int = 500, batch: int = 96, lr: float = 6e-3) -> list[float]:
    """Next-token pre-training on ``toy.sample(task="pretrain")`` (Adam, no weight decay, learning
    rate decaying linearly to ``lr/10``, padding excluded). Returns the loss per step. Chapter *P-tuning*, §the frozen LM."""
    steps = checks.integer(steps, "steps", minimum=1)
    batch = checks.integer(batch, "batch", minimum=1)
    lr = checks.real(lr, "lr", low=0, low_open=True)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1 - 0.9 * t / steps)  # linear decay to lr/10
    losses = []
    for _ in range(steps):
        ids, _, _ = toy.sample(batch, rng)
        logits, _ = model(ids[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1),
                               ignore_index=toy.PAD)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return losses


def _with_prompt(toy: SentimentToy, ids: Tensor, dot: Tensor, n_prompt: int):
    """Insert ``n_prompt`` unused tokens right after [BOS] (a prefix template)."""
    p = torch.tensor(toy.unused_ids[:n_prompt], dtype=ids.dtype).expand(ids.shape[0], -1)
    return torch.cat([ids[:, :1], p, ids[:, 1:]], 1), dot + n_prompt


def _cloze_train(model, toy, ids, labels, dot, *, n_prompt, steps, lr, rows, params, batch, rng):
    checks.tensor(ids, "ids", ndim=2)
    if labels.shape != (ids.shape[0],) or dot.shape != (ids.shape[0],):
        raise ValueError(f"labels and dot must have shape ({ids.shape[0]},)")
    batch = checks.integer(batch, "batch", minimum=1)
    if ids.shape[0] > batch:
        checks.generator(rng)
    ids, dot = _with_prompt(toy, ids, dot, n_prompt)
    opt = torch.optim.Adam(params, lr=lr)
    for _ in range(steps):
        b = slice(None) if ids.shape[0] <= batch else torch.from_numpy(rng.choice(ids.shape[0], batch, replace=False))
        logits, _ = model(ids[b], trainable_rows=rows)
        loss = F.cross_entropy(cloze_logits(logits, dot[b], [toy.BAD, toy.GOOD]), labels[b])
        opt.zero_grad()
        loss.backward()
        opt.step()


def prompt_tune(model: PromptLM, toy: SentimentToy, ids: Tensor, labels: Tensor, dot: Tensor, *,
                n_prompt: int = 4, steps: int = 100, lr: float = 0.1, batch: int = 32,
                rng: np.random.Generator | None = None) -> None:
    """P-tuning with a frozen LM, in place: only the embedding rows of the first ``n_prompt``
    unused tokens (a prefix template) train, via :func:`stop_gradient_rows`; Adam without weight
    decay; cloze loss over {bad, good} (eq. eq-p-tuning-cloze); minibatches of ``batch`` drawn
    with ``rng`` when there are more examples. Chapter *P-tuning*, §experiments."""
    n_prompt = checks.integer(n_prompt, "n_prompt", minimum=1, maximum=toy.n_unused)
    for p in model.parameters():
        p.requires_grad_(p is model.embed.weight)
    try:
        _cloze_train(model, toy, ids, labels, dot, n_prompt=n_prompt,
                     steps=checks.integer(steps, "steps", minimum=1), lr=checks.real(lr, "lr", low=0, low_open=True),
                     rows=toy.unused_ids[:n_prompt], params=[model.embed.weight], batch=batch, rng=rng)
    finally:
        for p in model.parameters():
            p.requires_grad_(True)


def fine_tune(model: PromptLM, toy: SentimentToy, ids: Tensor, labels: Tensor, dot: Tensor, *,
              n_prompt: int = 4, steps: int = 100, lr: float = 3e-3, batch: int = 32,
              rng: np.random.Generator | None = None) -> None:
    """P-tuning with every weight unfrozen (the article's many-label setting), in place: same
    template and cloze loss as :func:`prompt_tune`, Adam on all parameters."""
    n_prompt = checks.integer(n_prompt, "n_prompt", minimum=1, maximum=toy.n_unused)
    _cloze_train(model, toy, ids, labels, dot, n_prompt=n_prompt,
                 steps=checks.integer(steps, "steps", minimum=1), lr=checks.real(lr, "lr", low=0, low_open=True),
                 rows=None, params=list(model.parameters()), batch=batch, rng=rng)


def cloze_predict(model: PromptLM, toy: SentimentToy, ids: Tensor, dot: Tensor, n_prompt: int = 0) -> Tensor:
    """Cloze prediction (1 = good) with an optional ``n_prompt``-token prefix template."""
    if n_prompt:
        ids, dot = _with_prompt(toy, ids, dot, n_prompt)
    with torch.no_grad():
        logits, _ = model(ids)
    return cloze_logits(logits, dot, [toy.BAD, toy.GOOD]).argmax(1)



def linear_probe(train_x: Tensor, train_y: Tensor, test_x: Tensor, *, weight_decay: float = 1e-2,
                 steps: int = 200, lr: float = 0.05) -> Tensor:
    """Logistic regression on frozen features (the "linear head" baseline of chapter
    *P-tuning*): full-batch Adam on the mean cross-entropy plus ``weight_decay``·|W|²/2, features
    standardised with the training mean and std. Returns predicted classes for ``test_x``."""
    checks.floating(train_x, "train_x", ndim=2)
    checks.floating(test_x, "test_x", ndim=2)
    if train_y.shape != (train_x.shape[0],):
        raise ValueError(f"train_y must have shape ({train_x.shape[0]},)")
    if test_x.shape[1] != train_x.shape[1]:
        raise ValueError("test_x must have the feature width of train_x")
    wd = checks.real(weight_decay, "weight_decay", low=0)
    mu, sd = train_x.mean(0), train_x.std(0, correction=0) + 1e-6
    x, xt = (train_x - mu) / sd, (test_x - mu) / sd
    n_cls = int(max(int(train_y.max()) + 1, 2))
    W = torch.zeros(x.shape[1], n_cls, dtype=x.dtype, requires_grad=True)
    b = torch.zeros(n_cls, dtype=x.dtype, requires_grad=True)
    opt = torch.optim.Adam([W, b], lr=checks.real(lr, "lr", low=0, low_open=True))
    for _ in range(checks.integer(steps, "steps", minimum=1)):
        loss = F.cross_entropy(x @ W + b, train_y) + 0.5 * wd * (W ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return (xt @ W + b).argmax(1)
