#!/usr/bin/python3
"""make_golden_rnn.py - independent PyTorch reference of xlat's recurrent kernels (src/rnn_ops.h), writing the
golden file test_rnn_ops checks.

1. torch.nn.RNN (tanh), nn.GRU and nn.LSTM, one layer, bidirectional, over a time-major batch of 3 sentences of
   different lengths packed with pack_padded_sequence (enforce_sorted=False) and unpacked with pad_packed_sequence,
   from given initial states h0 (and c0). Loss = sum(out * Ro) + sum(h_n * Rh) (+ sum(c_n * Rc)).
2. Attention of a recurrent decoder, written here in torch: query rows r of sentence sent[r] over that sentence's
   encoder memory, padding keys masked, a sentence with no real key giving zero probabilities. dot (Luong):
   score = q . m_j; general (Luong): q . (W_a m_j); additive (Bahdanau): v . tanh(W_q q + U m_j); the context is
   sum_j p_j m_j. Loss = sum(ctx * Rc).

Everything runs in float64, so the file holds the exact answer rounded to float32. Inputs and weights are not stored:
both sides compute them from the integer hash below (mirrored in test_rnn_ops.c), each tensor from its own key. The
file holds the outputs and the gradient of every input and parameter as named float32 records:
"XLRNNG01", then per record: name (32 bytes, NUL-padded), int32 count, count float32.

Usage (developers only; CI reads the committed file): /usr/bin/python3 tests/reference/make_golden_rnn.py tests/golden
"""
import os
import struct
import sys

import numpy as np
import torch

from make_golden import hash_uniform  # the weights' hash, shared with the C tests

PAD = 0
T, B, I, H = 6, 3, 5, 7
LENGTHS = [4, 6, 1]  # not sorted: pack_padded_sequence(enforce_sorted=False) sorts and restores
CELLS = [("rnn", torch.nn.RNN, 1), ("gru", torch.nn.GRU, 3), ("lstm", torch.nn.LSTM, 4)]

N, S, D, A = 7, 5, 6, 4
SENT = [0, 1, 2, 1, 0, 2, 1]
SRC_LENGTHS = [5, 3, 0]  # sentence 2 has no real key
KINDS = [("dot", 1), ("general", 2), ("additive", 3)]


def tensor(shape, k, scale):
    """Tensor k: scale * hash_uniform, rounded to float32 (the C side's values), held in float64."""
    n = int(np.prod(shape))
    v = (scale * hash_uniform(n, k)).astype(np.float32).astype(np.float64)
    return torch.tensor(v.reshape(shape), requires_grad=True)


class Writer:
    def __init__(self, f):
        self.f = f
        f.write(b"XLRNNG01")

    def __call__(self, name, t):
        a = t.detach().numpy().astype("<f4").ravel()
        nb = name.encode()
        assert len(nb) < 32
        self.f.write(nb + b"\0" * (32 - len(nb)))
        self.f.write(struct.pack("<i", a.size))
        self.f.write(a.tobytes())


def rnn_layers(w):
    """Keys: 100 * (cell + 1) + 0 x, 1 h0, 2 c0, 10 + 4 * dir + (0 W_ih, 1 W_hh, 2 b_ih, 3 b_hh), 20 Ro, 21 Rh,
    22 Rc. Weights +-0.5, biases +-0.3, initial states +-0.5, inputs and projections +-1."""
    for cell, (name, cls, G) in enumerate(CELLS):
        k = 100 * (cell + 1)
        mod = cls(I, H, num_layers=1, bidirectional=True).double()
        params = {}
        for d, sfx in enumerate(["", "_reverse"]):
            for j, (p, shape, scale) in enumerate([("weight_ih_l0", (G * H, I), 0.5), ("weight_hh_l0", (G * H, H), 0.5),
                                                    ("bias_ih_l0", (G * H,), 0.3), ("bias_hh_l0", (G * H,), 0.3)]):
                t = tensor(shape, k + 10 + 4 * d + j, scale)
                params[p + sfx] = t
                getattr(mod, p + sfx).data.copy_(t.data)
        x = tensor((T, B, I), k + 0, 1.0)
        h0 = tensor((2, B, H), k + 1, 0.5)
        c0 = tensor((2, B, H), k + 2, 0.5)
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor(LENGTHS), enforce_sorted=False)
        if name == "lstm":
            out, (hn, cn) = mod(packed, (h0, c0))
        else:
            out, hn = mod(packed, h0)
            cn = None
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=T)
        loss = (out * tensor((T, B, 2 * H), k + 20, 1.0)).sum() + (hn * tensor((2, B, H), k + 21, 1.0)).sum()
        if cn is not None:
            loss = loss + (cn * tensor((2, B, H), k + 22, 1.0)).sum()
        loss.backward()
        w(name + ".out", out)
        w(name + ".h_n", hn)
        if cn is not None:
            w(name + ".c_n", cn)
        w(name + ".dx", x.grad)
        w(name + ".dh0", h0.grad)
        if cn is not None:
            w(name + ".dc0", c0.grad)
        for sfx in ["", "_reverse"]:
            for p in ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]:
                w(name + "." + p + sfx, getattr(mod, p + sfx).grad)
        print("%s: loss %.6f" % (name, float(loss)))


def attention(w):
    """Keys: 1000 + 100 * kind + 0 q (N,D), 1 memory (B,S,D), 2 W_a (D,D) / W_q (A,D), 3 U (A,D), 4 v (A), 5 Rc."""
    ids = torch.tensor([[5 + j if j < SRC_LENGTHS[b] else PAD for j in range(S)] for b in range(B)])
    sent = torch.tensor(SENT)
    for name, kind in KINDS:
        k = 1000 + 100 * kind
        q = tensor((N, D), k + 0, 1.0)
        mem = tensor((B, S, D), k + 1, 1.0)
        if kind == 1:
            keys, qk = mem, q
        elif kind == 2:
            Wa = tensor((D, D), k + 2, 0.5)
            keys, qk = mem @ Wa.t(), q
        else:
            Wq, U, v = tensor((A, D), k + 2, 0.5), tensor((A, D), k + 3, 0.5), tensor((A,), k + 4, 1.0)
            keys, qk = mem @ U.t(), q @ Wq.t()
        kr = keys[sent]  # (N,S,.) each row's own sentence
        if kind == 3:
            scores = (torch.tanh(qk[:, None, :] + kr) * v).sum(-1)
        else:
            scores = (qk[:, None, :] * kr).sum(-1)
        masked = ids[sent] == PAD
        empty = masked.all(-1, keepdim=True)  # no real key: zero probabilities, not softmax's NaN
        scores = scores.masked_fill(masked & ~empty, float("-inf")).masked_fill(empty, 0.0)
        probs = torch.softmax(scores, -1) * (~empty)
        ctx = (probs[:, :, None] * mem[sent]).sum(1)
        loss = (ctx * tensor((N, D), k + 5, 1.0)).sum()
        loss.backward()
        w(name + ".ctx", ctx)
        w(name + ".probs", probs)
        w(name + ".dq", q.grad)
        w(name + ".dmemory", mem.grad)
        if kind == 2:
            w(name + ".dW_a", Wa.grad)
        if kind == 3:
            w(name + ".dW_q", Wq.grad)
            w(name + ".dU", U.grad)
            w(name + ".dv", v.grad)
        print("%s attention: loss %.6f" % (name, float(loss)))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "golden")
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    path = os.path.join(out, "rnn_cells.bin")
    with open(path, "wb") as f:
        w = Writer(f)
        rnn_layers(w)
        attention(w)
    print("%s: %d bytes" % (path, os.path.getsize(path)))


if __name__ == "__main__":
    main()
