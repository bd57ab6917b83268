# ---
# jupyter:
#   jupytext:
#     default_lexer: ipython3
#     formats: md:myst,py:percent
#     notebook_metadata_filter: kexue
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
#   kexue:
#     date: '2020-11-11'
#     id: 7877
#     title: "When GPT Meets Chinese Chess: It Has Written Essays and Solved Problems\
#       \ \u2014 How About a Game?"
#     title_zh: "\u5F53GPT\u9047\u4E0A\u4E2D\u56FD\u8C61\u68CB\uFF1A\u5199\u8FC7\u6587\
#       \u7AE0\u89E3\u8FC7\u9898\uFF0C\u8981\u4E0D\u518D\u6765\u4E0B\u76D8\u68CB\uFF1F"
#     url: https://kexue.fm/archives/7877
# ---

# %% [markdown]
# (ch-gpt-chinese-chess)=
# # GPT plays Chinese chess
#
# Can a plain left-to-right language model play xiangqi if all it ever sees are game records
# written as text? Su's recipe {cite}`7877-su-gpt-cchess` writes each move as four ICCS characters,
# trains a character-level causal Transformer on whole games (short prefixes first), and, instead
# of letting the model *generate* a move, lets it *score* every candidate move by the summed
# log-probability of its four characters and plays the best one. This chapter rebuilds each piece
# at toy scale: the notation, a legal-move generator wrapped around the `cchess` package
# {cite}`7877-cchess` and checked against published perft counts {cite}`7877-cpw-perft`, the
# 111-move branching bound, the scoring rule, and a tiny model trained with the article's length
# curriculum. The answer: scoring is legal by construction while free generation is not — but
# only if the candidates are *legal* moves, and the article's script scores *pseudo-legal* ones.
#
# :::{prf:proposition} Scoring candidates keeps a record-memorising LM legal
# :label: thm-gpt-chinese-chess
# Let $h$ be the ICCS string of the moves played so far and $\mathcal L(h)$ the legal moves of
# the resulting position. Playing $\arg\max_{m\in\mathcal L(h)} \sum_{t=1}^{4}\log
# p(m_t\mid h, m_{<t})$ always yields a legal move, and $|\mathcal L(h)|\le 111$. The guarantee
# needs $\mathcal L$ to exclude moves that leave one's own general attacked; the candidate set
# of the article's script does not.
# :::

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import numpy as np
import torch

from lib.book import Chapter, show_table
from lib.recipes import (
    XIANGQI_START_FEN,
    TinyCausalLM,
    apply_move,
    encode_iccs,
    greedy_free_move,
    iccs_to_coords,
    legal_moves,
    length_curriculum,
    perft,
    pseudo_legal_moves,
    random_game,
    score_moves,
    train_char_lm,
)
from lib.stats import mean_se, proportion_se

ch = Chapter("gpt-chinese-chess", seed=7877)

# %% [markdown]
# ## 1. A game is a string
#
# **ICCS.** Files are lettered `a`–`i` from Red's left, ranks numbered `0`–`9` from Red's back
# rank, for both players (no mirroring). A move is from-square then to-square:
#
# $$
# \texttt{h2e2} \;\mapsto\; \bigl((7,2),(4,2)\bigr), \qquad
# \text{a game of } n \text{ moves} \;\mapsto\; 4n \text{ characters}.
# $$ (eq-gpt-chinese-chess-iccs)
#
# From the opening position `h2e2` is the central cannon (炮二平五 in Red's own right-to-left
# file numbering). The vocabulary is the 19 characters `0`–`9`, `a`–`i` plus a padding token
# that also starts every sequence, so an $n$-move game is $4n+1$ token ids.
#
# **FEN.** A position is written rank by rank from Black's back rank (9) down to Red's (0),
# upper case for Red (`R N B A K C P` = chariot, horse, elephant, advisor, general, cannon,
# soldier), lower case for Black, digits for runs of empty points, then `w` or `b` for the
# side to move. All training games start from the initial position, so the LM itself never needs
# FEN; the move generator does.

# %%
ch.claim("iccs-h2e2", iccs_to_coords("h2e2") == ((7, 2), (4, 2)), equals=True,
         why="exact", statement="h2e2 = cannon (7,2) -> (4,2), Eq. (eq-gpt-chinese-chess-iccs)")
opening = "h2e2h9g7h0g2i9h9"
ids = encode_iccs(opening)
ch.claim("tokens-per-game", len(ids), equals=4 * 4 + 1, why="exact integer",
         statement="a 4-move game is 4*4 characters plus the start token")
ch.claim("tokens-per-move", (len(ids) - 1) / (len(opening) // 4), equals=4, why="exact",
         statement="each move costs 4 tokens")
placement = XIANGQI_START_FEN.split()[0]
counts = {c: placement.count(c) for c in "RNBAKCPrnbakcp"}
ch.claim("fen-32-pieces", sum(counts.values()), equals=32, why="exact integer",
         statement="the initial FEN holds 32 pieces")
ch.claim("fen-piece-counts", counts == {**dict.fromkeys("RNBACrnbac", 2), "K": 1, "k": 1,
                                        "P": 5, "p": 5}, equals=True, why="exact",
         statement="2 of each of R N B A C, 1 K, 5 P per side")

# %% [markdown]
# ## 2. Legal moves, checked by perft
#
# `cchess` enumerates *pseudo-legal* moves $\mathcal P(s)$: each piece's own rule (palace,
# river, horse leg, elephant eye, cannon screen, soldier direction). A move is **legal** when,
# after it, no enemy piece could capture the mover's general — which in `cchess` includes the
# enemy general "capturing" along an open file, i.e. the flying-general rule:
#
# $$
# \mathcal L(s) = \{\, m\in\mathcal P(s) : \text{the mover's general is not attacked in } s\cdot m \,\}.
# $$ (eq-gpt-chinese-chess-legal)
#
# The wrapper makes each candidate in place, asks `cchess` whether the side now to move attacks
# the other general, and unmakes it:
#
# ```{literalinclude} /lib/recipes/xiangqi.py
# :pyobject: _exposes_general
# ```
#
# The standard test of a move generator is **perft**, the number of leaves of the legal game tree
# of depth $d$,
#
# $$
# \mathrm{perft}(s,0)=1,\qquad \mathrm{perft}(s,d)=\sum_{m\in\mathcal L(s)}\mathrm{perft}(s\cdot m,\,d-1),
# $$ (eq-gpt-chinese-chess-perft)
#
# compared with counts published by other engines: from the initial position 44, 1920 and 79666
# for $d=1,2,3$ (Chess Programming Wiki {cite}`7877-cpw-perft`, the list Fairy-Stockfish
# benchmarks against; the unit tests add three more of its positions at depths 1–2).

# %%
published = {1: 44, 2: 1920, 3: 79666}
for d, n in published.items():
    ch.claim(f"perft-{d}", perft(XIANGQI_START_FEN, d), equals=n, why="exact integer count",
             statement=f"perft(initial, {d}) equals the published value")

# %% [markdown]
# **Hand-worked checks.** In the opening position Red's 44 moves split by piece as: chariots 2×2
# (two steps up the edge file each), horses 2×2, elephants 2×2, advisors 2 (both to the palace
# centre), general 1 (forward), cannons 2×12 (four steps forward, one back, six sideways and the
# jump capture of the horse on rank 9), soldiers 5. We group the generator's moves by the letter of the moving piece:

# %%
board_rows = placement.split("/")[::-1]  # rank 0 first
def piece_at(sq):
    (x, y), _ = iccs_to_coords(sq + "a0")
    row = "".join("." * int(c) if c.isdigit() else c for c in board_rows[y])
    return row[x]
by_piece = {}
for m in legal_moves(XIANGQI_START_FEN):
    by_piece[piece_at(m[:2])] = by_piece.get(piece_at(m[:2]), 0) + 1
hand = {"R": 4, "N": 4, "B": 4, "A": 2, "K": 1, "C": 24, "P": 5}
ch.claim("start-moves-by-piece", by_piece == hand, equals=True, why="exact counts",
         statement="44 = 4 R + 4 N + 4 B + 2 A + 1 K + 24 C + 5 P, as counted by hand")
pin = "4k4/9/9/9/9/9/9/9/4R4/4K4 w"  # a red chariot is all that separates the two generals
off_file = [m for m in legal_moves(pin) if m.startswith("e1") and m[2] != "e"]
ch.claim("flying-general-pin", len(off_file), equals=0, why="exact: leaving file e would let "
         "the generals face each other", statement="the pinned chariot may not leave the file")


# %% [markdown]
# ## 3. Why at most 111 candidates
#
# Scoring runs the model on a batch of all candidates, so their number matters. Su bounds it by
# adding each piece type's best case: a chariot or cannon on an otherwise empty rank and file
# reaches 8 + 9 = 17 points (4 × 17 = 68), a soldier across the river has 3 moves (5 × 3 = 15), a
# horse 8 (16), the elephants 4 + 2 (two elephants cannot both stand on the one point with four
# exits), one advisor in the palace centre 4 (the other then has no square left to add), and the
# general 2 (with the centre taken):
#
# $$
# 68 + 15 + 16 + 6 + 4 + 2 = 111 .
# $$ (eq-gpt-chinese-chess-111)
#
# Each per-piece count comes from the generator on a board holding only that piece and the two
# generals (placed off its lines):

# %%
def piece_moves(fen, sq):
    return sum(m.startswith(sq) for m in legal_moves(fen))
cases = {  # name: (FEN, square, the article's count)
    "chariot": ("5k3/9/9/9/9/R8/9/9/9/3K5 w", "a4", 17),
    "cannon": ("5k3/9/9/9/9/C8/9/9/9/3K5 w", "a4", 17),
    "crossed-soldier": ("5k3/9/9/4P4/9/9/9/9/9/3K5 w", "e6", 3),
    "horse": ("5k3/9/9/9/9/4N4/9/9/9/3K5 w", "e4", 8),
    "centre-elephant": ("5k3/9/9/9/9/9/9/4B4/9/3K5 w", "e2", 4),
    "edge-elephant": ("5k3/9/9/9/9/9/9/B8/9/3K5 w", "a2", 2),
    "centre-advisor": ("5k3/9/9/9/9/9/9/9/4A4/4K4 w", "e1", 4),
    "corner-general": ("5k3/9/9/9/9/9/9/9/4A4/3K5 w", "d0", 2),
}
for name, (fen, sq, n) in cases.items():
    ch.claim(f"moves-{name}", piece_moves(fen, sq), equals=n, why="exact count",
             statement=f"{name} at {sq}: the article's per-piece maximum")
c = {name: piece_moves(fen, sq) for name, (fen, sq, _) in cases.items()}
parts = {"chariots-cannons-68": (2 * c["chariot"] + 2 * c["cannon"], 68),
         "soldiers-15": (5 * c["crossed-soldier"], 15), "horses-16": (2 * c["horse"], 16),
         "elephants-6": (c["centre-elephant"] + c["edge-elephant"], 6)}
for name, (v, n) in parts.items():
    ch.claim(name, v, equals=n, why="exact count", statement="subtotal of Eq. (eq-gpt-chinese-chess-111)")
total = sum(v for v, _ in parts.values()) + c["centre-advisor"] + c["corner-general"]
ch.claim("bound-111", total, equals=111, why="exact", statement="Eq. (eq-gpt-chinese-chess-111) "
         "from the generator's per-piece counts")

# %% [markdown]
# ## 4. Scoring a candidate
#
# With $h$ the history and $m=m_1m_2m_3m_4$ a candidate, the score is the model's log-probability
# of the four characters given everything before them — no length normalisation is needed since
# every move has four:
#
# $$
# \mathrm{score}(m\mid h) = \sum_{t=1}^{4} \log p_\theta(m_t \mid \texttt{[PAD]}\,h\,m_{<t}).
# $$ (eq-gpt-chinese-chess-score)
#
# ```{literalinclude} /lib/recipes/xiangqi.py
# :pyobject: score_moves
# ```
#
# By the chain rule the score is also $\log p(h\,m) - \log p(h)$, the difference of two
# whole-sequence log-likelihoods. We check {eq}`eq-gpt-chinese-chess-score` that way on an untrained
# model in float64 (a different code path: one sequence at a time, every position summed):

# %%
torch.manual_seed(0)
lm0 = TinyCausalLM(d=32).double().eval()
def seq_logp(s):
    t = torch.tensor([encode_iccs(s)])
    lp = torch.log_softmax(lm0(t), -1)[0, :-1].gather(-1, t[0, 1:, None])
    return float(lp.sum())
hist = "h2e2h9g7"
cands = legal_moves(apply_move(apply_move(XIANGQI_START_FEN, "h2e2"), "h9g7"))
with torch.no_grad():
    sc = score_moves(lm0, hist, cands)
    chain = torch.tensor([seq_logp(hist + c) - seq_logp(hist) for c in cands], dtype=torch.float64)
ch.claim("score-chain-rule", float((sc - chain).abs().max()), at_most=1e-12,
         why="float64 rounding of sums of ~20 log-probabilities of size ~3",
         statement="score = log p(h m) - log p(h) for every candidate")

# %% [markdown]
# ## 5. A toy record-memorising GPT
#
# **Data.** No game database ships with the book, so the records are self-generated: 300 games
# of 16 plies; 30 % open with line A (central cannon, `h2e2h9g7h0g2i9h9i0h0b9c7`), 15 % with a
# mirrored line B, 15 % with a soldier opening C (six plies each), the rest with nothing; every
# ply after the book is a random legal move (a random piece that can move, then a random move of
# it). Thirty more purely random games are held out.
#
# **Model and curriculum.** A 2-layer causal Transformer of width 32 built on the part's
# `softmax_attention` with a causal mask, trained with Adam for 200 batches of 24 games. Each
# batch is cut to `length_curriculum(step) − 1` tokens, Su's schedule (halving $n$ from 8 to 1
# after 20k, 40k and 80k batches) with the toy's steps mapped onto it (× 600) and `maxlen = 66`,
# so the model sees 2, 4, 8, then all 16 moves. Three seeds.

# %%
BOOK = ["h2e2h9g7h0g2i9h9i0h0b9c7", "b2e2b9c7b0c2a9b9a0b0h9g7", "c3c4g6g5b0c2h9g7h0g2b9c7"]
data_rng = np.random.default_rng(7877)
def sample_game():
    line = data_rng.choice(4, p=[0.3, 0.15, 0.15, 0.4])
    return random_game(16, rng=data_rng, opening=BOOK[line] if line < 3 else "")
train_games = [sample_game() for _ in range(300)]
test_games = [random_game(16, rng=data_rng) for _ in range(30)]
STEPS, SCALE, MAXLEN = 200, 600, 66
phase_len = [length_curriculum(s * SCALE, MAXLEN) - 1 for s in range(STEPS)]
models, losses = [], []
for seed in range(3):
    torch.manual_seed(seed)
    m = TinyCausalLM(d=32, layers=2, heads=4)
    losses.append(train_char_lm(m, train_games, steps=STEPS, batch_size=24, maxlen=MAXLEN,
                                rng=np.random.default_rng(seed), curriculum_scale=SCALE))
    models.append(m.eval())


# %% [markdown]
# **Evaluation.** On every position of the 30 held-out games (off-book) and on the 18 positions
# inside the three book lines we ask (a) free generation — the four argmax characters — and (b)
# constrained scoring over $\mathcal L(h)$. The reference for chance is a uniformly random
# four-character string in the ICCS grid, legal with probability $|\mathcal L(h)|/8100$.

# %%
def positions(game, plies):
    fen, out = XIANGQI_START_FEN, []
    for k in range(plies):
        out.append((game[:4 * k], fen))
        fen = apply_move(fen, game[4 * k:4 * k + 4])
    return out
off = [p for g in test_games for p in positions(g, len(g) // 4)]
book = [p for line in BOOK for p in positions(line, 6)]
legal = {h: set(legal_moves(f)) for h, f in off + book}
pseudo = {h: pseudo_legal_moves(f) for h, f in off}
eval_off = [off[i] for i in np.random.default_rng(0).choice(len(off), 60, replace=False)]

@torch.no_grad()
def evaluate(m):
    free_off = np.mean([greedy_free_move(m, h) in legal[h] for h, _ in eval_off])
    free_book = np.mean([greedy_free_move(m, h) in legal[h] for h, _ in book])
    def pick(h, cands):
        return cands[int(score_moves(m, h, cands).argmax())]
    constrained = np.mean([pick(h, sorted(legal[h])) in legal[h] for h, _ in eval_off + book])
    recall = np.mean([pick(h, sorted(legal[h])) == line[len(h):len(h) + 4]
                      for line in BOOK for h, _ in positions(line, 6)])
    bad_pick = np.mean([pick(h, pseudo[h]) not in legal[h] for h, _ in eval_off])
    return dict(free_off=free_off, free_book=free_book, constrained=constrained,
                recall=recall, bad_pick=bad_pick)
evals = [evaluate(m) for m in models]
res = {k: np.array([e[k] for e in evals]) for k in evals[0]}
chance_legal = np.mean([len(legal[h]) / 8100 for h, _ in eval_off])
chance_recall = np.mean([1 / len(legal[h]) for h, _ in book])

# %% mystnb={"figure": {"caption": "Left: training loss (mean of three seeds) under the length curriculum; the dotted lines mark where the cut length doubles. Right: how often the move is legal \u2014 free generation on off-book and book positions, constrained scoring, and a random four-character string; error bars are standard errors over seeds.", "name": "fig-gpt-chinese-chess-legality"}}
fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
a1.plot(np.mean(losses, 0), label="mean loss")
for s in range(1, STEPS):
    if phase_len[s] != phase_len[s - 1]:
        a1.axvline(s, ls=":", c="gray")
a1.set_xlabel("batch")
a1.set_ylabel("next-character cross-entropy (nats)")
bars = {"free, off-book": res["free_off"], "free, book": res["free_book"],
        "scored over $\\mathcal{L}$": res["constrained"]}
for i, (k, v) in enumerate(bars.items()):
    mu, se = mean_se(v)
    a2.bar(i, mu, yerr=se, capsize=4, label=k)
a2.bar(3, chance_legal, color="gray", label="random string")
a2.set_xticks(range(4), ["free\noff-book", "free\nbook", "scored", "random\nstring"])
a2.set_ylabel("fraction legal")
a2.set_ylim(0, 1.05)
plt.tight_layout()
plt.show()

# %%
ch.claim("constrained-always-legal", float(res["constrained"].min()), equals=1.0,
         why="exact: the argmax is taken over the legal set itself",
         statement="scoring over legal moves is legal in every evaluated position, every seed")
mu_off, se_off = mean_se(res["free_off"])
ch.measured("free-off-book-legal", float(mu_off), why="descriptive: mean of 3 seeds")
ch.claim("free-illegal-z", float((1 - mu_off) / max(se_off, proportion_se(mu_off, 180))),
         at_least=3.0, why="at least 3 standard errors (the larger of the seed SE and the "
         "binomial SE of 180 draws) below 100 %",
         statement="free generation emits illegal moves off-book: its rate is below 1")
ch.claim("free-vs-random-string", float((mu_off - chance_legal) / se_off), at_least=4.0,
         why="4 standard errors over seeds", statement="the LM has learned far more than chance "
         "about which moves exist")
mu_rec, se_rec = mean_se(res["recall"])
ch.claim("opening-recall-z", float((mu_rec - chance_recall) / max(se_rec, proportion_se(mu_rec, 54))),
         at_least=4.0, why="4 standard errors above a uniform pick among the legal moves",
         statement="constrained scoring replays the repeated book lines")
ch.measured("free-book-legal", float(res["free_book"].mean()), why="descriptive: mean of 3 seeds")
ch.measured("opening-recall", float(mu_rec), why="descriptive: mean of 3 seeds")
ch.measured("chance-recall", float(chance_recall), why="descriptive: mean of 1/|L| over the book")
_ = ch.measured("chance-legal", float(chance_legal), why="descriptive: mean of |L|/8100")

# %% [markdown]
# Free generation is legal in {glue:text}`free-off-book-legal:.0%` of off-book positions
# (within the book lines: {glue:text}`free-book-legal:.0%`) against
# {glue:text}`chance-legal:.1%` for a random string, and constrained scoring in all of them. On
# the book positions the scorer replays the memorised line {glue:text}`opening-recall:.0%` of
# the time (a uniform choice: {glue:text}`chance-recall:.1%`; the ceiling is 16 of 18, since
# from the empty history only one line's first move can be the argmax). The loss curve jumps each
# time the cut length doubles — the newly visible later moves are random continuations the model
# has never seen — and then falls again as it memorises them. The toy reproduces the article's
# qualitative picture — it "opens well" because openings repeat in the records, and it knows
# little beyond them, since everything after the book is noise to be memorised.

# %%
rows = [[k, f"{mean_se(v)[0]:.3f} ± {mean_se(v)[1]:.3f}"] for k, v in res.items()]
show_table(["metric (3 seeds)", "mean ± SE"], rows)

# %% [markdown]
# ## 6. Erratum: the script scores pseudo-legal moves
#
# The article says the player enumerates the *feasible* moves of the position, so every move it
# outputs is playable. Its script builds the candidates with `ChessBoard.create_moves()` and no
# further filter — pseudo-legal moves, which include moves that leave one's own general in check
# or facing the other general. In the pinned-chariot position of §2:

# %%
extra = sorted(set(pseudo_legal_moves(pin)) - set(legal_moves(pin)))
ch.claim("pin-illegal-candidates", len(extra), at_least=1, why="exact count",
         erratum="The article says the script enumerates all feasible moves, so every output "
         "is legal (§Testing); its candidates are cchess create_moves(), pseudo-legal",
         statement="the pseudo-legal set contains moves exposing the general")
frac = np.mean([len(pseudo[h]) > len(legal[h]) for h, _ in off])
n_pos = len(off)
ch.claim("random-positions-with-illegal-candidates", float(frac / proportion_se(frac, n_pos)),
         at_least=3.0, why="at least 3 binomial standard errors above zero",
         erratum="The article's guarantee that every scored move is feasible (§Testing)",
         statement="in random-play positions the article's candidate set often holds illegal moves")
ch.measured("frac-illegal-candidates", float(frac), why="descriptive: fraction of held-out positions")
ch.measured("bad-pick-rate", float(res["bad_pick"].mean()), why="descriptive: mean of 3 seeds")
_ = ch.measured("n-extra-pin", len(extra), why="descriptive: count in one position")

# %% [markdown]
# The pinned chariot alone has {glue:text}`n-extra-pin:.0f` illegal candidates, and
# {glue:text}`frac-illegal-candidates:.1%` of the held-out random-play positions contain at least
# one. How often the *argmax* lands on one is a property of the model: our toy picked an illegal
# move in {glue:text}`bad-pick-rate:.1%` of the off-book positions. The fix is one line — filter
# with `is_checked_move`, as `legal_moves` does — but without it
# "legal by construction" is not true.
#
# ## 7. The article's numbers
#
# We listed every number in the article's text (the script's hyper-parameters are not printed in
# the article and are used as settings, not checked). The branching bound and its parts are
# reproduced above; the trained model's playing strength and the model sizes are out of scope: the
# article reports strength only qualitatively, from games against its author, and the 100M
# parameter BERT-base model (versus the 1.5B GPT-2 of the chess experiment it cites, 15× larger)
# was trained for days on an unpublished number of records from a private download.

# %%
for printed, claim in [("111", "bound-111"), ("17", "moves-chariot"), ("68", "chariots-cannons-68"),
                       ("3", "moves-crossed-soldier"), ("15", "soldiers-15"), ("8", "moves-horse"),
                       ("16", "horses-16"), ("6", "elephants-6"), ("4", "moves-centre-advisor"),
                       ("2", "moves-corner-general")]:
    ch.source_number(printed, where="§Testing: the 111-move bound", fate="reproduced", claim=claim)
ch.source_number("4", where="§ICCS: 4 characters per move", fate="reproduced", claim="tokens-per-move")
ch.source_number("4n", value=4.0, where="§ICCS: an n-move record has 4n characters",
                 fate="reproduced", claim="tokens-per-game")
for printed, where, reason in [
        ("2", "§ICCS: one id per point, 2 ids per move", "suggested alternative encoding, not tried"),
        ("1亿", "§Improvements: Base model with 100M parameters", "pretrained BERT weights"),
        ("15亿", "§Improvements: the chess GPT-2 has 1.5B parameters", "another team's model"),
        ("15", "§Improvements: 15 times larger", "ratio of the two model sizes above")]:
    ch.source_number(printed, where=where, fate="out of scope", reason=reason)

# %% [markdown]
# ## Claims

# %%
ch.table()
