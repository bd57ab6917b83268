"""Tests of lib.recipes.xiangqi (chapter *GPT Chinese chess*, kexue.fm 7877)."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from lib.recipes import (
    ICCS_CHARS,
    XIANGQI_START_FEN,
    TinyCausalLM,
    apply_move,
    coords_to_iccs,
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

# chessprogramming.org "Chinese Chess Perft Results" (also in Fairy-Stockfish's benchmark list)
CPW = [
    (XIANGQI_START_FEN, [44, 1920]),
    ("r1ba1a3/4kn3/2n1b4/pNp1p1p1p/4c4/6P2/P1P2R2P/1CcC5/9/2BAKAB2 w", [38, 1128]),
    ("1cbak4/9/n2a5/2p1p3p/5cp2/2n2N3/6PCP/3AB4/2C6/3A1K1N1 w", [7, 281]),
    ("5a3/3k5/3aR4/9/5r3/5n3/9/3A1A3/5K3/2BC2B2 w", [25, 424]),
]
PIN = "4k4/9/9/9/9/9/9/9/4R4/4K4 w"  # red rook between the generals: it may only move on file e


def test_iccs_examples_and_bad_input():
    assert iccs_to_coords("h2e2") == ((7, 2), (4, 2))
    assert coords_to_iccs((7, 2), (4, 2)) == "h2e2"
    for bad in ["h2e", "j2e2", "H2E2", "h2e2 ", 42]:
        with pytest.raises(ValueError, match="move"):
            iccs_to_coords(bad)
    with pytest.raises(ValueError, match="frm"):
        coords_to_iccs((9, 0), (0, 0))
    with pytest.raises(ValueError, match="to"):
        coords_to_iccs((0, 0), (0, 10))


@given(st.integers(0, 8), st.integers(0, 9), st.integers(0, 8), st.integers(0, 9))
def test_coords_roundtrip(a, b, c, d):
    assert iccs_to_coords(coords_to_iccs((a, b), (c, d))) == ((a, b), (c, d))


@pytest.mark.parametrize(("fen", "counts"), CPW)
def test_perft_published(fen, counts):
    for depth, n in enumerate(counts, start=1):
        assert perft(fen, depth) == n
    assert perft(fen, 0) == 1


def test_start_position_moves_sorted_and_grouped():
    moves = legal_moves(XIANGQI_START_FEN)
    assert moves == sorted(moves) and len(moves) == 44
    assert {"h2e2", "b0c2", "c3c4", "e0e1", "d0e1"} <= set(moves)
    assert legal_moves(XIANGQI_START_FEN.replace(" w", " r")) == moves
    assert legal_moves(XIANGQI_START_FEN.split()[0]) == moves  # missing side -> Red


def test_flying_general_pin_and_pseudo_superset():
    legal = legal_moves(PIN)
    assert all(m[0] == "e" and m[2] == "e" for m in legal if m.startswith("e1"))
    assert "e1a1" not in legal and "e1a1" in pseudo_legal_moves(PIN)
    assert set(legal) <= set(pseudo_legal_moves(PIN))
    # black to move in a mated-like corner: a position with no legal move gives []
    mate = "3k5/9/9/9/9/9/9/9/3R1R3/4K4 b"
    assert legal_moves(mate) == [] or all(m in pseudo_legal_moves(mate) for m in legal_moves(mate))


def test_apply_move_and_bad_fen():
    fen = apply_move(XIANGQI_START_FEN, "h2e2")
    assert fen.split()[:2] == ["rnbakabnr/9/1c5c1/p1p1p1p1p/9/9/P1P1P1P1P/1C2C4/9/RNBAKABNR", "b"]
    with pytest.raises(ValueError, match="move"):
        apply_move(XIANGQI_START_FEN, "h2h8")
    with pytest.raises(ValueError, match="move"):
        apply_move(XIANGQI_START_FEN, "zz")
    for bad in ["rnbakabnr/9/9", "rnbakabnrr/9/1c5c1/p1p1p1p1p/9/9/P1P1P1P1P/1C5C1/9/RNBAKABNR w",
                "xnbakabnr/9/1c5c1/p1p1p1p1p/9/9/P1P1P1P1P/1C5C1/9/RNBAKABNR w",
                XIANGQI_START_FEN.replace(" w", " x"), "", "9/9/9/9/9/9/9/9/9/9 w"]:
        with pytest.raises(ValueError, match="fen"):
            legal_moves(bad)
    with pytest.raises(ValueError, match="depth"):
        perft(XIANGQI_START_FEN, -1)


def test_encode_iccs():
    assert encode_iccs("h2e2") == [0, 18, 3, 15, 3]
    assert encode_iccs("") == [0]
    assert encode_iccs(ICCS_CHARS) == list(range(20))
    with pytest.raises(ValueError, match="moves"):
        encode_iccs("h2z2")


def test_score_moves_matches_bigram_table():
    # a "model" that ignores context: logits = fixed table row of the current token
    g = torch.Generator().manual_seed(0)
    table = torch.randn(20, 20, generator=g, dtype=torch.float64)

    def model(ids):
        return table[ids]

    hist, cands = "h2e2", ["h9g7", "b9c7"]
    s = score_moves(model, hist, cands)
    assert s.dtype == torch.float64 and s.shape == (2,)
    lp = torch.log_softmax(table, -1)
    for k, c in enumerate(cands):
        ids = encode_iccs(hist + c)
        ref = sum(float(lp[ids[t - 1], ids[t]]) for t in range(len(ids) - 4, len(ids)))
        assert abs(float(s[k]) - ref) < 1e-12
    assert float(score_moves(model, "", ["h2e2"])[0]) < 0
    with pytest.raises(ValueError, match="history"):
        score_moves(model, "h2e", cands)
    with pytest.raises(ValueError, match="candidates"):
        score_moves(model, "", ["h2e"])


def test_length_curriculum():
    assert [length_curriculum(s) for s in (0, 19999, 20000, 39999, 40000, 79999, 80000)] == [
        65, 65, 129, 129, 257, 257, 513]
    assert length_curriculum(10**9, maxlen=66) == 67
    with pytest.raises(ValueError, match="step"):
        length_curriculum(-1)


def test_model_is_causal_and_checks_shape():
    torch.manual_seed(0)
    m = TinyCausalLM(d=16, layers=1, heads=2)
    a = torch.tensor([[0, 5, 6, 7, 8]])
    b = torch.tensor([[0, 5, 6, 1, 2]])
    assert torch.allclose(m(a)[:, :3], m(b)[:, :3])
    with pytest.raises(ValueError, match="ids"):
        m(torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="d"):
        TinyCausalLM(d=15, heads=2)


def test_random_game_and_training_and_free_move():
    rng = np.random.default_rng(0)
    g = random_game(6, rng=rng, opening="h2e2h9g7")
    assert g.startswith("h2e2h9g7") and len(g) == 24
    fen = XIANGQI_START_FEN
    for i in range(0, len(g), 4):
        fen = apply_move(fen, g[i : i + 4])  # raises if any move were illegal
    with pytest.raises(ValueError, match="opening"):
        random_game(6, rng=rng, opening="h2h8")
    with pytest.raises(ValueError, match="rng"):
        random_game(6, rng=0)
    torch.manual_seed(0)
    m = TinyCausalLM(d=16, layers=1, heads=2)
    losses = train_char_lm(m, [g] * 4, steps=40, batch_size=4, maxlen=26, rng=rng, lr=1e-2)
    assert losses[-1] < losses[0]
    mv = greedy_free_move(m, "")
    assert len(mv) == 4 and all(c in ICCS_CHARS for c in mv)
    with pytest.raises(ValueError, match="steps"):
        train_char_lm(m, [g], steps=0, batch_size=1, maxlen=26, rng=rng)
