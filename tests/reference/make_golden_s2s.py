#!/usr/bin/python3
"""make_golden_s2s.py - independent PyTorch reference of xlat's recurrent encoder-decoders (src/rnn.h), writing the
golden files test_golden checks.

The model is rnn.h's, built from PyTorch's own recurrences: the encoder is one nn.RNN (tanh) / nn.GRU / nn.LSTM module
(num_layers = enc_layers, bidirectional with D = H/2 units per direction, else D = H) run on the source embeddings
packed with pack_padded_sequence and unpacked with pad_packed_sequence; the decoder is one nn.RNNCell / nn.GRUCell /
nn.LSTMCell per layer, stepped by the loop below; attention (none, dot, general, additive) and the output layer are
written here. Everything runs in float64 on weights rounded to float32, so the files hold the exact answer rounded
to float32. No dropout. Loss: CrossEntropyLoss(label_smoothing=0.1, ignore_index=PAD, reduction='sum'), as
make_golden.py.

Choices where rnn.h leaves room (the C model must make the same):
  * embeddings enter unscaled (no sqrt(E) factor, unlike the Transformer); a sentence's length is its number of
    non-PAD source tokens (right padding), and attention masks exactly the keys whose id is PAD.
  * encoder initial states are zero; fin_l = [forward final; backward final] (forward first), the backward final
    state being the backward direction's state after source position 0; LSTM: the same for the cell state.
  * decoder layer l starts from h = fin_l (and c = the concatenated encoder cell state); no bridge, no bias.
  * layer 0's extra input: gates_x = e_t W_ih^T + b_ih + z_t feed_w^T (feed_w has no bias); done here as one cell
    whose weight_ih is [W_ih | feed_w] on the input [e_t ; z_t].
  * none: z_t = c_t = fin_top's hidden part (h, not the LSTM cell state), top = the last encoder layer; the memory
    is then unused. Every query is a hidden state h (never an LSTM cell state).
  * additive: at step t the query is s_{t-1}^top, s_0^top = fin_top (the top decoder layer's initial state); that
    c_t both feeds layer 0 and enters o_t = tanh(out_w [s_t^top; c_t]).
  * dot / general: c_t uses s_t^top after the step; with input feeding z_t = o_{t-1}, o_0 = 0.
  * attn.w and attn.u multiply from the left as PyTorch's linear (W x), no biases anywhere in attention or out.w;
    [s; c] is s first. Padding keys (src == PAD) get probability exactly 0.
  * the decoder runs all T steps for every sentence, feeding tgt_embed[PAD] after a short target; the logits at
    positions whose tgt_out is PAD are in the file but test_golden does not compare them (the loss ignores them).
  * parameter names as rnn.h's table, with d literally "fwd" / "bwd" (a unidirectional encoder has "enc.l.fwd.*").
  * the file header's Transformer-only fields are n_heads 1, d_ff 0, pre_norm 0, activation 0, positions 0 (sinusoidal);
    max_len 32.

Weights (the recurrent rule, mirrored in test_golden.c): hash_uniform of tensor index k (table order), salt 0, times
a scale, rounded to float32: "embed", "src_embed", "tgt_embed", "out_proj": 1 (inputs O(1) as nn.Embedding's
N(0,1), logits O(1)); names ending in ".b_ih" or ".b_hh": 0.1; every other tensor (the matrices and attn.v):
1.5 * sqrt(3 / fan_in), fan_in = its last dimension (attn.v: H). Gate pre-activations then have a standard
deviation of about 0.6-1.3 with at most ~2% beyond |3|: the cells are neither linear nor saturated.

Golden file "XLGOLD02": make_golden.py's XLGOLD01 with 5 more int32 after its 16 (arch 1 rnn / 2 gru / 3 lstm,
emb_dim, attention 0 none / 1 dot / 2 general / 3 additive, bidirectional, input_feeding); the rest is the same:
eps (f32), src / tgt_in / tgt_out (i32), logits (B,T,V) f32, loss f64, and per tensor in table order: name (48
bytes), int32 count, int32 sample count, every 7th gradient entry (f32), 3 x (f64 dot with hash_uniform(k, p+1),
f64 sum of |products|).

Self-checks run every time (assertions): the packed encoder module equals a hand-written cell loop over each
sentence's real tokens; the decoder's cell modules equal the hand-written cells; padding a source or target with
more PAD changes no real logit, and each sentence alone gives its row of the batch; no gradient reaches the PAD
embedding rows; every tensor gets a gradient; central finite differences of the whole loss in float64 match
autograd on a few entries of each tensor.

Usage (developers only; CI reads the committed files): /usr/bin/python3 tests/reference/make_golden_s2s.py tests/golden
"""
import math
import os
import struct
import sys

import numpy as np
import torch

from make_golden import hash_uniform  # the weights' hash, shared with the C tests
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

PAD, BOS, EOS = 0, 2, 3
V, MAX_LEN = 64, 32
LABEL_SMOOTHING = 0.1
SAMPLE_STRIDE = 7
N_PROJ = 3
RNN, GRU, LSTM = 1, 2, 3
NONE, DOT, GENERAL, ADDITIVE = 0, 1, 2, 3
GATES = {RNN: 1, GRU: 3, LSTM: 4}
MODULES = {RNN: (torch.nn.RNN, torch.nn.RNNCell), GRU: (torch.nn.GRU, torch.nn.GRUCell),
           LSTM: (torch.nn.LSTM, torch.nn.LSTMCell)}
DT = torch.float64

# Right-padded batch, B 3, S 7, T 6 (make_golden.py's): sentence 1 has a short source, sentence 2 a short target.
SRC = [[10, 11, 12, 13, 14, 15, EOS], [20, 21, EOS, PAD, PAD, PAD, PAD], [30, 31, 32, 33, 34, EOS, PAD]]
TGT = [[40, 41, 42, 43, 44], [50, 51, 52, 53, 54], [60, 61]]

# file, arch, emb_dim E, d_model H, layers, attention, bidirectional, input_feeding, tied
VARIANTS = [
    ("s2s_gru_additive_bi.bin", GRU, 16, 32, 2, ADDITIVE, 1, 0, 0),
    ("s2s_lstm_general_feed.bin", LSTM, 24, 32, 2, GENERAL, 0, 1, 0),
    ("s2s_rnn_dot.bin", RNN, 16, 16, 1, DOT, 0, 0, 0),
    ("s2s_lstm_none_bi.bin", LSTM, 16, 24, 2, NONE, 1, 0, 0),
    ("s2s_gru_dot_feed_tied.bin", GRU, 24, 24, 1, DOT, 1, 1, 1),
]


class Config:
    def __init__(self, arch, E, H, layers, attention, bi, feed, tied, vocab=V):
        assert not tied or E == H, "tied embeddings need E == H"
        assert not feed or attention in (DOT, GENERAL), "input feeding is for dot and general"
        assert not bi or H % 2 == 0
        self.arch, self.E, self.H, self.L, self.attention = arch, E, H, layers, attention
        self.bi, self.feed, self.tied, self.V = bi, feed, tied, vocab
        self.G = GATES[arch]
        self.dirs = 2 if bi else 1
        self.D = H // self.dirs
        self.luong = attention in (DOT, GENERAL)
        self.extra = attention in (NONE, ADDITIVE) or feed  # layer 0 of the decoder has the input z_t


def param_table(c):
    """(name, shape) in rnn.h's order."""
    E, H, D, G, V = c.E, c.H, c.D, c.G, c.V
    t = [("embed", (V, E))] if c.tied else [("src_embed", (V, E)), ("tgt_embed", (V, E)), ("out_proj", (V, H))]

    def layer(p, units, nin):
        return [(p + ".w_ih", (G * units, nin)), (p + ".b_ih", (G * units,)), (p + ".w_hh", (G * units, units)),
                (p + ".b_hh", (G * units,))]

    for l in range(c.L):
        for d in range(c.dirs):
            t += layer("enc.%d.%s" % (l, ("fwd", "bwd")[d]), D, H if l else E)
    for l in range(c.L):
        t += layer("dec.%d" % l, H, H if l else E)
    if c.extra:
        t += [("dec.feed_w", (G * H, H))]
    if c.attention in (GENERAL, ADDITIVE):
        t += [("attn.w", (H, H))]
    if c.attention == ADDITIVE:
        t += [("attn.u", (H, H)), ("attn.v", (H,))]
    return t + [("out.w", (H, 2 * H))]


def weight_values(name, shape, k):
    """Tensor k's values (float32-rounded, as float64): the recurrent rule of the module docstring."""
    n = int(np.prod(shape))
    if name in ("embed", "src_embed", "tgt_embed", "out_proj"):
        scale = 1.0
    elif name.endswith(".b_ih") or name.endswith(".b_hh"):
        scale = 0.1
    else:
        scale = 1.5 * math.sqrt(3.0 / shape[-1])
    return torch.tensor((scale * hash_uniform(n, k, 0)).astype(np.float32).astype(np.float64).reshape(shape))


class S2S:
    """The model: PyTorch modules for the recurrences, leaves for the rest. slot[name] = (tensor, index) says where
    table tensor name lives (layer 0's w_ih and feed_w are the two column blocks of one cell's weight_ih).

    The golden files use the defaults (float64, the recurrent rule's weights, no dropout). tests/bench/torch_train.py
    and torch_decode.py use the same model in float32: dropout p on rnn.h's places while self.training (embeddings,
    between layers, o_t), weights loaded by name through slot when init is False."""

    def __init__(self, c, dtype=DT, init=True, dropout=0.0):
        self.c, self.p, self.training = c, dropout, False
        E, H, D, L = c.E, c.H, c.D, c.L
        layer_cls, cell_cls = MODULES[c.arch]
        self.enc = layer_cls(E, D, num_layers=L, bidirectional=bool(c.bi), batch_first=True,
                             dropout=dropout if L > 1 else 0.0).to(dtype)
        self.cells = [cell_cls((E + (H if c.extra else 0)) if l == 0 else H, H).to(dtype) for l in range(L)]
        self.table = param_table(c)
        self.slot = {}
        all_ = slice(None)
        for name, shape in self.table:
            parts = name.split(".")
            if parts[0] == "enc":
                l, suffix = int(parts[1]), "_reverse" if parts[2] == "bwd" else ""
                kind = {"w_ih": "weight_ih", "b_ih": "bias_ih", "w_hh": "weight_hh", "b_hh": "bias_hh"}[parts[3]]
                self.slot[name] = (getattr(self.enc, "%s_l%d%s" % (kind, l, suffix)), all_)
            elif parts[0] == "dec" and parts[1] != "feed_w":
                l = int(parts[1])
                kind = {"w_ih": "weight_ih", "b_ih": "bias_ih", "w_hh": "weight_hh", "b_hh": "bias_hh"}[parts[2]]
                idx = (all_, slice(0, E)) if kind == "weight_ih" and l == 0 and c.extra else all_
                self.slot[name] = (getattr(self.cells[l], kind), idx)
            elif name == "dec.feed_w":
                self.slot[name] = (self.cells[0].weight_ih, (all_, slice(E, E + H)))
            else:
                self.slot[name] = (torch.zeros(shape, dtype=dtype, requires_grad=True), all_)
        covered = {id(t) for t, _ in self.slot.values()}
        for m in [self.enc] + self.cells:
            for p in m.parameters():
                assert id(p) in covered, "a module parameter outside the table"
        for k, (name, shape) in enumerate(self.table):
            t, idx = self.slot[name]
            assert tuple(t[idx].shape) == tuple(shape), (name, t[idx].shape, shape)
            if init:
                with torch.no_grad():
                    t[idx] = weight_values(name, shape, k)
        self.train(False)

    def train(self, mode=True):
        """Dropout on (mode True) or off; the encoder module's own dropout between its layers follows."""
        self.training = mode
        self.enc.train(mode)
        return self

    def drop(self, x):
        return torch.nn.functional.dropout(x, self.p, True) if self.training and self.p > 0 else x

    def leaves(self):
        seen, out = set(), []
        for t, _ in self.slot.values():
            if id(t) not in seen:
                seen.add(id(t))
                out.append(t)
        return out

    def zero_grad(self):
        for t in self.leaves():
            t.grad = None

    def value(self, name):
        t, idx = self.slot[name]
        return t[idx]

    def grad(self, name):
        t, idx = self.slot[name]
        return t.grad[idx]

    def embeddings(self):
        if self.c.tied:
            e = self.value("embed")
            return e, e, e
        return self.value("src_embed"), self.value("tgt_embed"), self.value("out_proj")

    def encode(self, src):
        """memory (B,S,H) (0 at padding), fin_h [L] (B,H), fin_c [L] (B,H) or None."""
        c = self.c
        src_emb = self.embeddings()[0]
        lengths = (src != PAD).sum(1)
        packed = pack_padded_sequence(self.drop(src_emb[src]), lengths, batch_first=True, enforce_sorted=False)
        out, state = self.enc(packed)
        mem, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
        hn, cn = state if c.arch == LSTM else (state, None)
        cat = lambda s: [torch.cat([s[l * c.dirs + d] for d in range(c.dirs)], -1) for l in range(c.L)]
        return mem, cat(hn), (cat(cn) if cn is not None else None)

    def start(self, src):
        """The decoder's state before step 0 for source ids src (B,S): the encoder's results (memory, the attention
        keys over it, computed once: the memory itself for dot, its projection by attn.w (general) or attn.u
        (additive); the padding mask; fin_top) and each layer's state h, c from the encoder's final states; o = 0.
        Every entry is a tensor, or a list of tensors, with the batch first (beam search reorders them)."""
        mem, fin_h, fin_c = self.encode(src)
        lin = torch.nn.functional.linear
        kind = self.c.attention
        keys = lin(mem, self.value("attn.w")) if kind == GENERAL else lin(mem, self.value("attn.u")) \
            if kind == ADDITIVE else mem
        return {"mem": mem, "keys": keys, "key_pad": src == PAD, "fin": fin_h[self.c.L - 1], "h": list(fin_h),
                "c": list(fin_c) if fin_c is not None else None,
                "o": torch.zeros(src.shape[0], self.c.H, dtype=mem.dtype)}

    def attend(self, q, st):
        """context (B,H), probabilities (B,S) of query q (B,H) over the memory of state st."""
        lin = torch.nn.functional.linear
        if self.c.attention in (DOT, GENERAL):
            score = torch.einsum("bh,bsh->bs", q, st["keys"])
        else:
            score = torch.tanh(lin(q, self.value("attn.w"))[:, None, :] + st["keys"])
            score = score @ self.value("attn.v")
        p = torch.softmax(score.masked_fill(st["key_pad"], float("-inf")), dim=-1)
        return torch.einsum("bs,bsh->bh", p, st["mem"]), p

    def step(self, st, tok, tgt_emb=None):
        """One decoder step for the previous tokens tok (B,): updates st's h, c, o and returns o_t (B,H). tgt_emb:
        the target embedding tensor when the caller holds it (one view for all steps: one gradient sum)."""
        c = self.c
        e = self.drop((self.embeddings()[1] if tgt_emb is None else tgt_emb)[tok])
        h = list(st["h"])
        cs = list(st["c"]) if st["c"] is not None else None
        top = c.L - 1
        if c.attention == ADDITIVE:
            ctx, _ = self.attend(h[top], st)  # Bahdanau: the previous top state asks
            z = ctx
        elif c.attention == NONE:
            ctx = z = st["fin"]
        else:
            z = st["o"] if c.feed else None
        x = torch.cat([e, z], -1) if z is not None else e
        for l in range(c.L):
            if c.arch == LSTM:
                h[l], cs[l] = self.cells[l](x, (h[l], cs[l]))
            else:
                h[l] = self.cells[l](x, h[l])
            x = self.drop(h[l]) if l < top else h[l]
        if c.luong:
            ctx, _ = self.attend(h[top], st)  # Luong: the new top state asks
        o = self.drop(torch.tanh(torch.nn.functional.linear(torch.cat([h[top], ctx], -1), self.value("out.w"))))
        st["h"], st["c"], st["o"] = h, cs, o
        return o

    def forward(self, src, tin, per_step=True):
        """logits (B,T,V) of target inputs tin (B,T): the output layer per step (the golden files' summation order),
        or once on all steps' o_t with per_step False (the benchmark's training step)."""
        _, tgt_emb, out_proj = self.embeddings()
        st = self.start(src)
        if per_step:
            return torch.stack([self.step(st, tin[:, t], tgt_emb) @ out_proj.t() for t in range(tin.shape[1])], 1)
        return torch.stack([self.step(st, tin[:, t], tgt_emb) for t in range(tin.shape[1])], 1) @ out_proj.t()


def loss_of(logits, tout):
    fn = torch.nn.CrossEntropyLoss(ignore_index=PAD, reduction="sum", label_smoothing=LABEL_SMOOTHING)
    return fn(logits.reshape(-1, V), tout.reshape(-1))


def batch(extra_src=0, extra_tgt=0):
    S, T = max(map(len, SRC)) + extra_src, max(len(t) + 1 for t in TGT) + extra_tgt
    src = [s + [PAD] * (S - len(s)) for s in SRC]
    tin = [[BOS] + t + [PAD] * (T - len(t) - 1) for t in TGT]
    tout = [t + [EOS] + [PAD] * (T - len(t) - 1) for t in TGT]
    return torch.tensor(src), torch.tensor(tin), torch.tensor(tout)


# ---- self-checks --------------------------------------------------------------------------------------------------
def hand_cell(arch, x, h, c, w_ih, b_ih, w_hh, b_hh):
    """One step of rnn_ops.h's equations, written out gate by gate (x (N,I), h (N,H))."""
    gx, gh = x @ w_ih.t() + b_ih, h @ w_hh.t() + b_hh
    if arch == RNN:
        return torch.tanh(gx + gh), None
    if arch == GRU:
        xr, xz, xn = gx.chunk(3, -1)
        hr, hz, hn = gh.chunk(3, -1)
        r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        return (1 - z) * n + z * h, None
    i, f, g, o = (gx + gh).chunk(4, -1)
    c2 = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c2), c2


def check_encoder(model, src):
    """The packed module against a loop over each sentence's real tokens, direction by direction, layer by layer."""
    c = model.c
    with torch.no_grad():
        mem, fin_h, fin_c = model.encode(src)
        src_emb = model.embeddings()[0]
        for b in range(src.shape[0]):
            n = int((src[b] != PAD).sum())
            x = src_emb[src[b, :n]]
            for l in range(c.L):
                outs = []
                for d in range(c.dirs):
                    p = "enc.%d.%s" % (l, ("fwd", "bwd")[d])
                    w = [model.value(p + s) for s in (".w_ih", ".b_ih", ".w_hh", ".b_hh")]
                    h = torch.zeros(1, c.D, dtype=DT)
                    cc = torch.zeros(1, c.D, dtype=DT)
                    out = [None] * n
                    for t in (range(n) if d == 0 else range(n - 1, -1, -1)):
                        h, c2 = hand_cell(c.arch, x[t:t + 1], h, cc, *w)
                        cc = c2 if c2 is not None else cc
                        out[t] = h
                    outs.append(torch.cat(out, 0))
                    assert torch.allclose(fin_h[l][b, d * c.D:(d + 1) * c.D], h[0], rtol=0, atol=1e-12)
                    if c.arch == LSTM:
                        assert torch.allclose(fin_c[l][b, d * c.D:(d + 1) * c.D], cc[0], rtol=0, atol=1e-12)
                x = torch.cat(outs, -1)
            assert torch.allclose(mem[b, :n], x, rtol=0, atol=1e-12), "encoder outputs"
            assert bool((mem[b, n:] == 0).all()), "padding in the memory"


def check_cells(model):
    """The decoder's cell modules (layer 0 with its [e; z] input) against the hand-written equations."""
    c = model.c
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for l in range(c.L):
            cell = model.cells[l]
            x = torch.rand(3, cell.input_size, generator=g, dtype=DT) * 2 - 1
            h = torch.rand(3, c.H, generator=g, dtype=DT) * 2 - 1
            cc = torch.rand(3, c.H, generator=g, dtype=DT) * 2 - 1
            w_ih = model.value("dec.%d.w_ih" % l)
            if l == 0 and c.extra:
                w_ih = torch.cat([w_ih, model.value("dec.feed_w")], 1)
            want = hand_cell(c.arch, x, h, cc, w_ih, *[model.value("dec.%d%s" % (l, s))
                                                        for s in (".b_ih", ".w_hh", ".b_hh")])
            if c.arch == LSTM:
                got = cell(x, (h, cc))
                assert torch.allclose(got[1], want[1], rtol=0, atol=1e-12)
                got = got[0]
            else:
                got = cell(x, h)
            assert torch.allclose(got, want[0], rtol=0, atol=1e-12), "decoder cell %d" % l


def check_padding(model, logits):
    """More PAD after a source or a target changes no real logit; each sentence alone gives its batch row."""
    src, tin, tout = batch()
    real = (tout != PAD)
    with torch.no_grad():
        for es, et in ((2, 0), (0, 2), (3, 1)):
            s2, t2, _ = batch(es, et)
            got = model.forward(s2, t2)[:, :tin.shape[1]]
            assert torch.allclose(got[real], logits[real], rtol=0, atol=1e-12), "padding changed a logit"
            if et == 0:
                assert torch.allclose(got, logits, rtol=0, atol=1e-12), "source padding changed a padded logit"
        for b in range(src.shape[0]):
            n, m = int((src[b] != PAD).sum()), int((tin[b] != PAD).sum())
            got = model.forward(src[b:b + 1, :n], tin[b:b + 1, :m])[0]
            assert torch.allclose(got, logits[b, :m], rtol=0, atol=1e-12), "sentence %d alone" % b


def check_gradients(model, src, tin, tout):
    """Every tensor has a gradient; none reaches the PAD rows of untied embeddings; central differences of the whole
    loss (float64) on the largest entry and two hashed entries of every tensor."""
    c = model.c
    for name, shape in model.table:
        assert float(model.grad(name).abs().max()) > 0, "no gradient reaches " + name
    if not c.tied:
        for name in ("src_embed", "tgt_embed"):
            assert float(model.grad(name)[PAD].abs().max()) == 0, "gradient at the PAD row of " + name
    step = 1e-5
    for k, (name, shape) in enumerate(model.table):
        g = model.grad(name).detach().clone().reshape(-1)
        n = g.numel()
        picks = {int(g.abs().argmax())}
        picks |= {int((hash_uniform(2, k, 9)[i] + 1) / 2 * n) % n for i in range(2)}
        t, idx = model.slot[name]
        for j in sorted(picks):
            pos = np.unravel_index(j, shape)
            f = []
            for sgn in (1, -1):
                with torch.no_grad():
                    view = t[idx]  # basic slicing: a view of the module's parameter or leaf
                    assert view.data_ptr() >= t.data_ptr() and view._base is t
                    old = float(view[pos])
                    view[pos] = old + sgn * step
                    f.append(float(loss_of(model.forward(src, tin), tout)))
                    view[pos] = old
            fd = (f[0] - f[1]) / (2 * step)
            assert abs(fd - float(g[j])) <= 1e-6 * max(1.0, abs(fd)), \
                "%s[%d]: finite difference %.10g, autograd %.10g" % (name, j, fd, float(g[j]))


# ---- the files ----------------------------------------------------------------------------------------------------
def write(path, arch, E, H, L, attention, bi, feed, tied):
    c = Config(arch, E, H, L, attention, bi, feed, tied)
    model = S2S(c)
    src, tin, tout = batch()
    B, S, T = src.shape[0], src.shape[1], tin.shape[1]
    check_encoder(model, src)
    check_cells(model)
    logits = model.forward(src, tin)
    loss = loss_of(logits, tout)
    loss.backward()
    check_padding(model, logits.detach())
    check_gradients(model, src, tin, tout)
    ntok = int((tout != PAD).sum())
    table = model.table
    with open(path, "wb") as f:
        f.write(b"XLGOLD02")
        f.write(struct.pack("<21i", V, H, 1, 0, L, L, MAX_LEN, 0, 0, tied, 0, B, S, T, ntok, len(table),
                            arch, E, attention, bi, feed))
        f.write(struct.pack("<f", LABEL_SMOOTHING))
        for ids in (src, tin, tout):
            f.write(ids.to(torch.int32).numpy().astype("<i4").tobytes())
        f.write(logits.detach().numpy().astype("<f4").tobytes())
        f.write(struct.pack("<d", float(loss)))
        for k, (name, shape) in enumerate(table):
            g = model.grad(name).detach().numpy().astype(np.float64).ravel()
            nb = name.encode()
            assert len(nb) < 48
            f.write(nb + b"\0" * (48 - len(nb)))
            sample = g[::SAMPLE_STRIDE].astype("<f4")
            f.write(struct.pack("<ii", g.size, sample.size))
            f.write(sample.tobytes())
            for p in range(N_PROJ):
                r = hash_uniform(g.size, k, p + 1)
                f.write(struct.pack("<dd", float(np.dot(g, r)), float(np.abs(g * r).sum())))
    lg = logits.detach()[tout != PAD]
    print("%s: loss %.6f over %d tokens, %d tensors, %d params, logits std %.3f, %d bytes" %
          (path, float(loss), ntok, len(table), sum(int(np.prod(s)) for _, s in table), float(lg.std()),
           os.path.getsize(path)))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "golden")
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    for v in VARIANTS:
        write(os.path.join(out, v[0]), *v[1:])


if __name__ == "__main__":
    main()
