"""Xiangqi as text: ICCS/FEN, legal moves, scoring candidate moves with a causal LM.

Chapter *When GPT meets Chinese chess* (kexue.fm 7877). Rules come from the pinned ``cchess``
package (the one Su's script used): its ``ChessBoard.create_moves`` yields *pseudo-legal* moves,
which :func:`legal_moves` filters by making each move in place and asking whether the mover's
general is then attacked (flying-general rule included, since cchess's general "attacks" along
an open file). Coordinates: file x = 0..8 (``a``..``i``), rank y = 0..9 from Red's side.
Pure Python in/out except :func:`score_moves` and the toy model (torch tensors).
"""

from __future__ import annotations

import re

import numpy as np
import torch
import torch.nn.functional as F
from cchess import ChessBoard, pos2iccs
from torch import Tensor, nn

from lib import checks
from lib.transformers.attention import softmax_attention, window_causal_mask

__all__ = [
    "XIANGQI_START_FEN",
    "ICCS_CHARS",
    "iccs_to_coords",
    "coords_to_iccs",
    "legal_moves",
    "pseudo_legal_moves",
    "apply_move",
    "perft",
    "encode_iccs",
    "score_moves",
    "length_curriculum",
    "TinyCausalLM",
    "random_game",
    "train_char_lm",
    "greedy_free_move",
]

XIANGQI_START_FEN = "rnbakabnr/9/1c5c1/p1p1p1p1p/9/9/P1P1P1P1P/1C5C1/9/RNBAKABNR w"
ICCS_CHARS = "0123456789abcdefghi"
_ICCS_RE = re.compile(r"^[a-i][0-9][a-i][0-9]$")
_PIECES = set("kabnrcpKABNRCP")


# -- notation --------------------------------------------------------------------------------
def iccs_to_coords(move: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """``"h2e2" -> ((7, 2), (4, 2))`` (chapter *GPT Chinese chess*, eq. eq-gpt-chinese-chess-iccs)."""
    if not isinstance(move, str) or not _ICCS_RE.match(move):
        raise ValueError(f"move must match ^[a-i][0-9][a-i][0-9]$, got {move!r}")
    return (ord(move[0]) - 97, int(move[1])), (ord(move[2]) - 97, int(move[3]))


def coords_to_iccs(frm, to) -> str:
    """Inverse of :func:`iccs_to_coords`: ``((7, 2), (4, 2)) -> "h2e2"``."""
    for name, p in (("frm", frm), ("to", to)):
        try:
            x, y = (checks.integer(v, name) for v in p)
        except TypeError:
            raise ValueError(f"{name} must be a pair (file, rank), got {p!r}") from None
        if not (0 <= x <= 8 and 0 <= y <= 9):
            raise ValueError(f"{name} must lie on the board (0<=x<=8, 0<=y<=9), got {p!r}")
    return pos2iccs(tuple(frm), tuple(to))


def _board(fen: str) -> ChessBoard:
    """Validated FEN -> cchess board (cchess itself accepts malformed FEN silently)."""
    if not isinstance(fen, str) or not fen.split():
        raise ValueError(f"fen must be a non-empty string, got {fen!r}")
    fields = fen.split()
    ranks = fields[0].split("/")
    if len(ranks) != 10:
        raise ValueError(f"fen must have 10 ranks, got {len(ranks)}")
    for r in ranks:
        width = 0
        for c in r:
            if c in "123456789":
                width += int(c)
            elif c in _PIECES:
                width += 1
            else:
                raise ValueError(f"fen has an unknown letter {c!r}")
        if width != 9:
            raise ValueError(f"fen rank {r!r} is {width} points wide, not 9")
    if len(fields) > 1 and fields[1] not in ("w", "r", "b"):
        raise ValueError(f"fen side to move must be w, r or b, got {fields[1]!r}")
    b = ChessBoard(fields[0] + " " + ("b" if len(fields) > 1 and fields[1] == "b" else "w"))
    for k, ys in (("K", (0, 1, 2)), ("k", (7, 8, 9))):
        where = b.get_fenchs(k)
        if len(where) != 1 or where[0][0] not in (3, 4, 5) or where[0][1] not in ys:
            raise ValueError(f"fen must have exactly one {k!r} general inside its palace")
    return b


def _make(b: ChessBoard, f, t):
    cap = b._board[t[1]][t[0]]
    b._move_piece(f, t)
    b.move_player.next()
    return cap


def _unmake(b: ChessBoard, f, t, cap) -> None:
    b.move_player.next()
    b._move_piece(t, f)
    b._board[t[1]][t[0]] = cap


def _exposes_general(b: ChessBoard, f, t) -> bool:
    """After f->t, can the opponent capture the mover's general (incl. flying general)?"""
    cap = _make(b, f, t)
    bad = b.is_checking()
    _unmake(b, f, t, cap)
    return bad


def _legal(b: ChessBoard):
    return [(f, t) for f, t in b.create_moves() if not _exposes_general(b, f, t)]


# -- move generation -------------------------------------------------------------------------
def legal_moves(fen: str) -> list[str]:
    """Sorted ICCS list of the fully legal moves of the side to move (chapter *GPT Chinese
    chess*, eq. eq-gpt-chinese-chess-legal): cchess's pseudo-legal moves minus those leaving the
    mover's general attacked or facing the other general."""
    return sorted(pos2iccs(f, t) for f, t in _legal(_board(fen)))


def pseudo_legal_moves(fen: str) -> list[str]:
    """AS PUBLISHED: the candidate set of Su's script, ``ChessBoard.create_moves()`` unfiltered
    (chapter *GPT Chinese chess*, erratum section). Sorted ICCS strings."""
    return sorted(pos2iccs(f, t) for f, t in _board(fen).create_moves())


def apply_move(fen: str, move: str) -> str:
    """FEN (placement, side ``w``/``b``) after a legal ``move``."""
    b = _board(fen)
    f, t = iccs_to_coords(move)
    if (f, t) not in _legal(b):
        raise ValueError(f"move {move!r} is not legal in this position")
    _make(b, f, t)
    return b.to_fen()


def _perft(b: ChessBoard, depth: int) -> int:
    moves = _legal(b)
    if depth == 1:
        return len(moves)
    n = 0
    for f, t in moves:
        cap = _make(b, f, t)
        n += _perft(b, depth - 1)
        _unmake(b, f, t, cap)
    return n


def perft(fen: str, depth: int) -> int:
    """Number of legal move sequences of length ``depth`` (eq. eq-gpt-chinese-chess-perft)."""
    depth = checks.integer(depth, "depth", minimum=0)
    b = _board(fen)
    return 1 if depth == 0 else _perft(b, depth)


# -- the language-model side -----------------------------------------------------------------
def encode_iccs(moves: str) -> list[int]:
    """``[0] + [ICCS_CHARS.index(c) + 1 ...]``: token 0 ([PAD]) starts every sequence."""
    if not isinstance(moves, str):
        raise ValueError(f"moves must be a str, got {type(moves).__name__}")
    bad = [c for c in moves if c not in ICCS_CHARS]
    if bad:
        raise ValueError(f"moves has a character outside ICCS_CHARS: {bad[0]!r}")
    return [0] + [ICCS_CHARS.index(c) + 1 for c in moves]


def score_moves(model, history: str, candidates) -> Tensor:
    """Sum of each candidate's 4 token log-probabilities after ``history`` (chapter *GPT
    Chinese chess*, eq. eq-gpt-chinese-chess-score). ``model``: LongTensor (K, L) -> logits
    (K, L, V), causal. Returns (K,) in the logits' dtype."""
    if not isinstance(history, str) or len(history) % 4:
        raise ValueError("history must be a str whose length is a multiple of 4")
    hist_ids = encode_iccs(history)
    for c in candidates:
        if not isinstance(c, str) or not _ICCS_RE.match(c):
            raise ValueError(f"candidates must be ICCS moves, got {c!r}")
    if len(candidates) == 0:
        raise ValueError("candidates must not be empty")
    ids = torch.tensor([hist_ids + encode_iccs(c)[1:] for c in candidates], dtype=torch.long)
    logp = torch.log_softmax(model(ids), dim=-1)  # (K, L, V)
    L = ids.shape[1]
    pred = logp[:, L - 5 : L - 1]  # logits[t-1] predict token t, t = L-4..L-1
    return pred.gather(-1, ids[:, L - 4 :, None]).squeeze(-1).sum(-1)


def length_curriculum(step: int, maxlen: int = 512) -> int:
    """``maxlen // n + 1`` with n = 8, 4, 2, 1 at 20k/40k/80k batches (Su's script)."""
    step = checks.integer(step, "step", minimum=0)
    maxlen = checks.integer(maxlen, "maxlen", minimum=1)
    n = 8 if step < 20000 else 4 if step < 40000 else 2 if step < 80000 else 1
    return maxlen // n + 1


class TinyCausalLM(nn.Module):
    """Character-level GPT: token + learned position embeddings, pre-LN blocks built on the
    part's ``softmax_attention`` with ``window_causal_mask`` (chapter *GPT Chinese chess*).
    ``forward(ids (B, T) long) -> logits (B, T, vocab)``; ``logits[:, t]`` predicts token t+1."""

    def __init__(self, vocab: int = 20, d: int = 48, layers: int = 2, heads: int = 4, max_len: int = 128):
        super().__init__()
        self.heads, self.max_len = checks.integer(heads, "heads", minimum=1), max_len
        if checks.integer(d, "d", minimum=1) % heads:
            raise ValueError(f"d must be divisible by heads, got d={d}, heads={heads}")
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(max_len, d)
        self.blocks = nn.ModuleList(
            nn.ModuleDict({"ln1": nn.LayerNorm(d), "qkv": nn.Linear(d, 3 * d), "o": nn.Linear(d, d),
                           "ln2": nn.LayerNorm(d), "ff": nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))})
            for _ in range(checks.integer(layers, "layers", minimum=1)))
        self.ln, self.out = nn.LayerNorm(d), nn.Linear(d, vocab)

    def forward(self, ids: Tensor) -> Tensor:
        if ids.ndim != 2 or ids.shape[1] > self.max_len:
            raise ValueError(f"ids must be (B, T) with T <= {self.max_len}, got {tuple(ids.shape)}")
        B, T = ids.shape
        h = self.tok(ids) + self.pos(torch.arange(T, device=ids.device))
        mask = window_causal_mask(T, device=ids.device)
        for blk in self.blocks:
            q, k, v = blk["qkv"](blk["ln1"](h)).view(B, T, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
            a = softmax_attention(q, k, v, mask).transpose(1, 2).reshape(B, T, -1)
            h = h + blk["o"](a)
            h = h + blk["ff"](blk["ln2"](h))
        return self.out(self.ln(h))


def random_game(plies: int, *, rng: np.random.Generator, opening: str = "") -> str:
    """A self-generated game: the (legal) ``opening`` then a random policy — a uniformly chosen
    piece of the side to move that has a legal move, then one of its legal moves uniformly —
    until ``plies`` moves or no legal move. Returns the ICCS concatenation."""
    plies = checks.integer(plies, "plies", minimum=0)
    rng = checks.generator(rng)
    if not isinstance(opening, str) or len(opening) % 4 or len(opening) // 4 > plies:
        raise ValueError("opening must be whole ICCS moves, at most plies of them")
    b, game = _board(XIANGQI_START_FEN), []
    for i in range(0, len(opening), 4):
        f, t = iccs_to_coords(opening[i : i + 4])
        if (f, t) not in _legal(b):
            raise ValueError(f"opening has an illegal move {opening[i:i + 4]!r}")
        _make(b, f, t)
        game.append(opening[i : i + 4])
    while len(game) < plies:
        pieces = [(p.x, p.y) for p in b.get_pieces(b.move_player)]
        for j in rng.permutation(len(pieces)):
            mv = [m for m in b.create_piece_moves(pieces[j]) if not _exposes_general(b, *m)]
            if mv:
                f, t = mv[rng.integers(len(mv))]
                break
        else:
            break
        _make(b, f, t)
        game.append(pos2iccs(f, t))
    return "".join(game)


def train_char_lm(model: nn.Module, games, *, steps: int, batch_size: int, maxlen: int,
                  rng: np.random.Generator, lr: float = 3e-3, curriculum_scale: float = 1.0) -> list[float]:
    """Adam on the next-token loss; batch ``s`` is cut to ``length_curriculum(s * scale,
    maxlen) - 1`` tokens (start token + characters, as Su's script after dropping [CLS]/[SEP]).
    ``curriculum_scale`` maps the toy's steps onto the 20k/40k/80k schedule. Returns losses."""
    rng = checks.generator(rng)
    steps = checks.integer(steps, "steps", minimum=1)
    data = [encode_iccs(g) for g in games]
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for s in range(steps):
        T = length_curriculum(int(s * curriculum_scale), maxlen) - 1
        batch = [data[i][:T] for i in rng.integers(len(data), size=batch_size)]
        width = max(map(len, batch))
        ids = torch.tensor([x + [0] * (width - len(x)) for x in batch])
        real = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in batch])
        logits = model(ids[:, :-1])
        ce = F.cross_entropy(logits.transpose(1, 2), ids[:, 1:], reduction="none")
        loss = (ce * real[:, 1:]).sum() / real[:, 1:].sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


@torch.no_grad()
def greedy_free_move(model, history: str) -> str:
    """Unconstrained decoding: the 4 argmax characters after ``history`` (may be illegal, or not
    even an ICCS string — e.g. a digit where a file letter belongs)."""
    ids = encode_iccs(history)
    out = ""
    for _ in range(4):
        nxt = int(model(torch.tensor([ids]))[0, -1, 1:].argmax()) + 1  # never the [PAD] token
        ids.append(nxt)
        out += ICCS_CHARS[nxt - 1]
    return out
