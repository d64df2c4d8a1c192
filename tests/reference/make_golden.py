#!/usr/bin/python3
"""make_golden.py - independent PyTorch reference of xlat's Transformer, writing the golden files test_golden checks.

Builds the encoder-decoder of src/transformer_train.c with torch autograd (Debian's python3-torch 1.13): embeddings (tied, or
source / target / output apart) scaled by sqrt(C), sinusoidal positions (PE[pos, 2i] = sin(pos / 10000^(2i/C)),
PE[pos, 2i+1] = cos(...)) or learned ones, added unscaled, or relative positions (Shaw et al. 2018, "Self-Attention
with Relative Position Representations": nothing added to the embeddings; every encoder and decoder self-attention,
not cross-attention, has tables aK, aV (2K+1, D) shared by its heads, and with a_ij = a[clip(j - i, -K, K) + K]
computes e_ij = q_i . (k_j + aK_ij) / sqrt(D) and z_i = sum_j p_ij (v_j + aV_ij) literally, through the (T, S, D)
tensors of gathered embeddings, where xlat sums per distance bucket), packed (3C, C)
attention projections, padding-key mask in encoder self-attention and cross-attention, causal mask in decoder
self-attention, post-norm or pre-norm with a final norm per stack, ReLU or GELU (the exact erf form, PyTorch's
default), no dropout, and
CrossEntropyLoss(label_smoothing=0.1, ignore_index=PAD, reduction='sum').

Weights are not stored: both sides compute them from the integer hash below (weight()), so the golden file holds
only the batch, the logits, the loss and each parameter tensor's gradient summary: a strided sample of its entries
and its dot products with three hash-generated vectors (these catch an error anywhere in the tensor).

File "XLGOLD01": 16 int32 (V, C, H, F, enc, dec, max_len, pre_norm, gelu, tied, positions (0 sinusoidal, 1 learned),
B, S, T, target tokens, tensors), the label smoothing (float32), src, tgt_in, tgt_out (int32), the logits (float32),
the loss (float64), then per tensor its name (48 bytes), entry and sample counts, the sample (float32) and three
(dot, scale) float64 pairs. "XLGOLD03" (relative positions, positions 2): one more int32 after the 16, K.

Usage (developers only; CI reads the committed files): /usr/bin/python3 tests/reference/make_golden.py tests/golden
"""
import math
import os
import struct
import sys

import numpy as np
import torch

PAD, BOS, EOS = 0, 2, 3
CFG = dict(V=64, C=128, H=4, F=512, enc=2, dec=2, max_len=32)  # the tiny preset with a 64-token vocabulary
LABEL_SMOOTHING = 0.1
SAMPLE_STRIDE = 7
EMBEDDINGS = ("embed", "src_embed", "tgt_embed", "out_proj", "src_pos", "tgt_pos")
N_PROJ = 3

# Right-padded batch, B 3, S 7, T 6: sentence 1 has a short source, sentence 2 a short target.
SRC = [[10, 11, 12, 13, 14, 15, EOS], [20, 21, EOS, PAD, PAD, PAD, PAD], [30, 31, 32, 33, 34, EOS, PAD]]
TGT = [[40, 41, 42, 43, 44], [50, 51, 52, 53, 54], [60, 61]]


def hash_uniform(count, k, salt=0):
    """count values in [-1, 1) from a 32-bit integer hash of (index, tensor k, salt); mirrored in test_golden.c."""
    j = np.arange(count, dtype=np.uint64)
    m = np.uint64(0xFFFFFFFF)
    x = (j * np.uint64(2654435761) + np.uint64(k) * np.uint64(40503) + np.uint64(salt) * np.uint64(97) +
         np.uint64(12345)) & m
    x ^= x >> np.uint64(15)
    x = (x * np.uint64(2246822519)) & m
    x ^= x >> np.uint64(13)
    x = (x * np.uint64(3266489917)) & m
    x ^= x >> np.uint64(16)
    return (x.astype(np.float64) / 4294967296.0) * 2.0 - 1.0


SINUSOIDAL, LEARNED, RELATIVE = 0, 1, 2  # xlat_positions


def param_table(pre_norm, tied, positions, K):
    """(name, shape) in src/transformer_params.c order."""
    V, C, F = CFG["V"], CFG["C"], CFG["F"]
    t = [("embed", (V, C))] if tied else [("src_embed", (V, C)), ("tgt_embed", (V, C)), ("out_proj", (V, C))]
    if positions == LEARNED:
        t += [("src_pos", (CFG["max_len"], C)), ("tgt_pos", (CFG["max_len"], C))]

    def attn(p, rel=False):
        r = [(p + ".in_w", (3 * C, C)), (p + ".in_b", (3 * C,)), (p + ".out_w", (C, C)), (p + ".out_b", (C,))]
        if rel:  # relative positions: self-attention only
            r += [(p + ".rel_k", (2 * K + 1, C // CFG["H"])), (p + ".rel_v", (2 * K + 1, C // CFG["H"]))]
        return r

    def norm(p):
        return [(p + ".g", (C,)), (p + ".b", (C,))]

    def layer(p, decoder):
        r = attn(p + ".self_attn", positions == RELATIVE) + norm(p + ".norm1")
        if decoder:
            r += attn(p + ".cross_attn") + norm(p + ".norm2")
        r += [(p + ".ffn.w1", (F, C)), (p + ".ffn.b1", (F,)), (p + ".ffn.w2", (C, F)), (p + ".ffn.b2", (C,))]
        return r + norm(p + ".norm3")

    for l in range(CFG["enc"]):
        t += layer("enc.%d" % l, False)
    if pre_norm:
        t += norm("enc.norm")
    for l in range(CFG["dec"]):
        t += layer("dec.%d" % l, True)
    if pre_norm:
        t += norm("dec.norm")
    return t


def weight(name, shape, k):
    """Tensor k's values: matrices uniform in +-sqrt(3/fan_in), embedding and position tables +-C^-1/2, biases
    +-0.1, norm gains 1 +- 0.1 (same rule in test_golden.c); the relative tables (2K+1, D) follow the matrix rule,
    +-sqrt(3/D)."""
    n = int(np.prod(shape))
    u = hash_uniform(n, k, 0)
    if name in EMBEDDINGS:
        scale, base = 1.0 / math.sqrt(CFG["C"]), 0.0
    elif len(shape) == 2:
        scale, base = math.sqrt(3.0 / shape[1]), 0.0
    elif name.endswith(".g"):
        scale, base = 0.1, 1.0
    else:
        scale, base = 0.1, 0.0
    return torch.tensor((base + scale * u).astype(np.float32).reshape(shape), requires_grad=True)


def sinusoid(L, C):
    pe = np.zeros((L, C), dtype=np.float64)
    for pos in range(L):
        for i in range(0, C, 2):
            a = pos / math.pow(10000.0, i / C)
            pe[pos, i] = math.sin(a)
            if i + 1 < C:
                pe[pos, i + 1] = math.cos(a)
    return torch.tensor(pe.astype(np.float32))


def attention(q, k, v, key_pad, causal, H, rel=None):
    """q (B,T,C), k/v (B,S,C); key_pad (B,S) bool or None; rel (aK, aV, K) for Shaw et al.'s relative positions
    (query t is position t, key s position s)."""
    B, T, C = q.shape
    S, D = k.shape[1], C // H
    qh = q.view(B, T, H, D).transpose(1, 2)
    kh = k.view(B, S, H, D).transpose(1, 2)
    vh = v.view(B, S, H, D).transpose(1, 2)
    if rel is not None:
        aK, aV, K = rel
        dist = torch.arange(S)[None, :] - torch.arange(T)[:, None]  # j - i
        idx = dist.clamp(-K, K) + K
        ak, av = aK[idx], aV[idx]  # (T,S,D): the paper's a^K_ij, a^V_ij
        scores = (qh @ kh.transpose(-1, -2) + torch.einsum("bhtd,tsd->bhts", qh, ak)) / math.sqrt(D)
    else:
        scores = qh @ kh.transpose(-1, -2) / math.sqrt(D)
    if key_pad is not None:
        scores = scores.masked_fill(key_pad[:, None, None, :], float("-inf"))
    if causal:
        mask = torch.triu(torch.ones(T, S, dtype=torch.bool), diagonal=1)
        scores = scores.masked_fill(mask, float("-inf"))
    p = torch.softmax(scores, dim=-1)
    z = p @ vh
    if rel is not None:
        z = z + torch.einsum("bhts,tsd->bhtd", p, av)
    return z.transpose(1, 2).reshape(B, T, C)


def forward(W, src, tgt_in, pre_norm, gelu, tied, positions, K):
    C, H = CFG["C"], CFG["H"]
    ln = lambda x, p: torch.nn.functional.layer_norm(x, (C,), W[p + ".g"], W[p + ".b"], 1e-5)
    lin = torch.nn.functional.linear

    def self_attn(x, p, key_pad, causal):
        qkv = lin(x, W[p + ".in_w"], W[p + ".in_b"])
        q, k, v = qkv.split(C, dim=-1)
        rel = (W[p + ".rel_k"], W[p + ".rel_v"], K) if positions == RELATIVE else None
        return lin(attention(q, k, v, key_pad, causal, H, rel), W[p + ".out_w"], W[p + ".out_b"])

    def cross_attn(x, mem, p, key_pad):
        w, b = W[p + ".in_w"], W[p + ".in_b"]
        q = lin(x, w[:C], b[:C])
        k, v = lin(mem, w[C:], b[C:]).split(C, dim=-1)
        return lin(attention(q, k, v, key_pad, False, H), W[p + ".out_w"], W[p + ".out_b"])

    def ffn(x, p):
        h = lin(x, W[p + ".ffn.w1"], W[p + ".ffn.b1"])
        h = torch.nn.functional.gelu(h) if gelu else torch.relu(h)
        return lin(h, W[p + ".ffn.w2"], W[p + ".ffn.b2"])

    def sub(x, p_norm, fn):
        if pre_norm:
            return x + fn(ln(x, p_norm))
        return ln(x + fn(x), p_norm)

    pe = sinusoid(CFG["max_len"], C)
    if positions == RELATIVE:
        pe = torch.zeros(CFG["max_len"], C)  # nothing added
    src_pe, tgt_pe = (W["src_pos"], W["tgt_pos"]) if positions == LEARNED else (pe, pe)
    src_emb, tgt_emb, out_proj = (W["embed"],) * 3 if tied else (W["src_embed"], W["tgt_embed"], W["out_proj"])
    src_pad = src == PAD
    x = src_emb[src] * math.sqrt(C) + src_pe[: src.shape[1]]
    for l in range(CFG["enc"]):
        p = "enc.%d" % l
        x = sub(x, p + ".norm1", lambda y: self_attn(y, p + ".self_attn", src_pad, False))
        x = sub(x, p + ".norm3", lambda y: ffn(y, p))
    mem = ln(x, "enc.norm") if pre_norm else x
    x = tgt_emb[tgt_in] * math.sqrt(C) + tgt_pe[: tgt_in.shape[1]]
    for l in range(CFG["dec"]):
        p = "dec.%d" % l
        x = sub(x, p + ".norm1", lambda y: self_attn(y, p + ".self_attn", None, True))
        x = sub(x, p + ".norm2", lambda y: cross_attn(y, mem, p + ".cross_attn", src_pad))
        x = sub(x, p + ".norm3", lambda y: ffn(y, p))
    if pre_norm:
        x = ln(x, "dec.norm")
    return x @ out_proj.t()


def batch():
    B, S, T = len(SRC), max(map(len, SRC)), max(len(t) + 1 for t in TGT)
    tin = [[BOS] + t + [PAD] * (T - len(t) - 1) for t in TGT]
    tout = [t + [EOS] + [PAD] * (T - len(t) - 1) for t in TGT]
    return torch.tensor(SRC), torch.tensor(tin), torch.tensor(tout), B, S, T


def write(path, pre_norm, gelu, tied, positions, K=0):
    table = param_table(pre_norm, tied, positions, K)
    W = {name: weight(name, shape, k) for k, (name, shape) in enumerate(table)}
    src, tin, tout, B, S, T = batch()
    logits = forward(W, src, tin, pre_norm, gelu, tied, positions, K)
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=PAD, reduction="sum", label_smoothing=LABEL_SMOOTHING)
    loss = loss_fn(logits.reshape(-1, CFG["V"]), tout.reshape(-1))
    loss.backward()
    ntok = int((tout != PAD).sum())
    with open(path, "wb") as f:
        f.write(b"XLGOLD03" if positions == RELATIVE else b"XLGOLD01")
        f.write(struct.pack("<16i", CFG["V"], CFG["C"], CFG["H"], CFG["F"], CFG["enc"], CFG["dec"], CFG["max_len"],
                            pre_norm, gelu, tied, positions, B, S, T, ntok, len(table)))
        if positions == RELATIVE:
            f.write(struct.pack("<i", K))
        f.write(struct.pack("<f", LABEL_SMOOTHING))
        for ids in (src, tin, tout):
            f.write(ids.to(torch.int32).numpy().astype("<i4").tobytes())
        f.write(logits.detach().numpy().astype("<f4").tobytes())
        f.write(struct.pack("<d", float(loss)))
        for k, (name, shape) in enumerate(table):
            g = W[name].grad.double().numpy().ravel()
            nb = name.encode()
            f.write(nb + b"\0" * (48 - len(nb)))
            sample = g[::SAMPLE_STRIDE].astype("<f4")
            f.write(struct.pack("<ii", g.size, sample.size))
            f.write(sample.tobytes())
            for p in range(N_PROJ):
                r = hash_uniform(g.size, k, p + 1)
                f.write(struct.pack("<dd", float(np.dot(g, r)), float(np.abs(g * r).sum())))
    print("%s: loss %.6f over %d tokens, %d tensors" % (path, float(loss), ntok, len(table)))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "golden")
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    write(os.path.join(out, "tiny_postnorm.bin"), 0, 0, 1, 0)  # the paper's model: post-norm, ReLU, tied, sinusoids
    write(os.path.join(out, "tiny_prenorm.bin"), 1, 1, 1, 0)  # pre-norm with final norms, GELU
    write(os.path.join(out, "tiny_untied.bin"), 0, 0, 0, 1)  # untied embeddings, learned positions
    # relative positions, K 3: distances up to 6 in the batch, clipped on both sides; post-norm, GELU, tied
    write(os.path.join(out, "tiny_relative.bin"), 0, 1, 1, RELATIVE, 3)


if __name__ == "__main__":
    main()
