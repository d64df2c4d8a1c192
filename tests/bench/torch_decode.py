#!/usr/bin/python3
"""PyTorch yardstick for xlat-decode: the same Transformer weights and the same beam search, KV-cached.

Reads model weights in a simple export format (a JSON header line {"config": {xlat_config fields},
"tensors": [{"name", "shape"}...]}, then each tensor as raw little-endian float32 in header order; named as xlat's
parameter table, see Model), source ids (one sentence per line, as `spm_encode --output_format=id` writes them), and translates
them with Marian-style beam search exactly as src/beam.c does: a sentence starts with one hypothesis, keeps the best
(beam - finished) extensions by summed log-probability, a hypothesis ending in EOS leaves the beam, only EOS is
allowed at the length limit floor(a*|x|+b), PAD and BOS are never produced, finished hypotheses are ranked by
logprob / ((5+|y|)/6)^alpha with |y| counting EOS. Sentences are sorted by length and cut into batches of
--batch-size; finished sentences leave the batch. Prints one output line of ids per input line (in input order) to
--output, and one JSON line of measurements to stdout.

A recurrent model (config "arch" rnn, gru or lstm: src/rnn.h) runs as tests/reference/make_golden_s2s.py's S2S, the
one PyTorch reference of those models, in float32 with the exported weights: the packed encoder once per batch, the
attention keys over the memory once, then S2S.step per target position on a cached state (each layer's h and LSTM
cell state, the previous o_t) that the search reorders like the Transformer's key/value cache.

Run with Debian's python3 and python3-torch:
  OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 tests/bench/torch_decode.py --model M.bin --input src.ids --threads 2
"""
import argparse
import json
import math
import os
import resource
import sys
import time

PAD, UNK, BOS, EOS = 0, 1, 2, 3


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True, help="weights in the export format above")
    p.add_argument("--input", required=True, help="source ids, one sentence per line")
    p.add_argument("--output", default=None, help="output ids, one line per input line")
    p.add_argument("--beam", type=int, default=5)
    p.add_argument("--length-penalty", type=float, default=0.6)
    p.add_argument("--max-length-a", type=float, default=2.0)
    p.add_argument("--max-length-b", type=float, default=10.0)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    return p.parse_args()


args = parse()
os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
os.environ["OMP_NUM_THREADS"] = str(args.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(args.threads)
torch.set_num_interop_threads(1)


def load(path):
    """-> (config dict, {name: tensor})"""
    with open(path, "rb") as f:
        header = json.loads(f.readline())
        tensors = {}
        for t in header["tensors"]:
            n = int(np.prod(t["shape"]))
            a = np.frombuffer(f.read(4 * n), dtype="<f4").reshape(t["shape"])
            tensors[t["name"]] = torch.from_numpy(a.copy())
    return header["config"], tensors


def sinusoid(n, d):
    pos = torch.arange(n, dtype=torch.float32)[:, None]
    i = torch.arange(0, d, 2, dtype=torch.float32)
    ang = pos / torch.pow(10000.0, i / d)
    pe = torch.zeros(n, d)
    pe[:, 0::2] = torch.sin(ang)
    pe[:, 1::2] = torch.cos(ang)
    return pe


class Model:
    """Inference-only encoder-decoder Transformer over tensors named as xlat's parameter table (src/internal.h):
    "embed" (tied; else "src_embed", "tgt_embed", "out_proj"), "{enc|dec}.L.self_attn.in_w" (3C,C) = [q; k; v] and
    in_b, out_w, out_b, "dec.L.cross_attn.*" (q from the decoder, k and v from the encoder output), "*.ffn.w1" (F,C),
    b1, w2 (C,F), b2, layer norms "*.norm1|norm2|norm3.g|b" (after self-attention, cross-attention, FFN), final norms
    "enc.norm.*", "dec.norm.*" with pre-norm."""

    def __init__(self, cfg, w):
        self.cfg, self.w = cfg, w
        self.C, self.H = cfg["d_model"], cfg["n_heads"]
        self.dh = self.C // self.H
        self.pre = cfg["pre_norm"] == 1
        self.act = F.gelu if cfg["activation"] == 1 else F.relu
        self.emb_src = w.get("src_embed", w.get("embed"))
        self.emb_tgt = w.get("tgt_embed", w.get("embed"))
        self.out_w = w.get("out_proj", w.get("embed"))
        if cfg["positions"] == 2:  # xlat_positions: 0 sinusoidal, 1 learned, 2 relative
            sys.exit("torch_decode.py: relative positions (Shaw et al.) are not implemented in this yardstick")
        if cfg["positions"] == 1:
            self.pos_src, self.pos_tgt = w["src_pos"], w["tgt_pos"]
        else:
            self.pos_src = self.pos_tgt = sinusoid(cfg["max_len"], self.C)

    def lin(self, x, w, b):
        y = x @ w.t()
        return y + b if b is not None else y

    def proj(self, x, name, part):  # part 0 q, 1 k, 2 v of a packed attention projection
        C = self.C
        return self.lin(x, self.w[name + ".in_w"][part * C:(part + 1) * C], self.w[name + ".in_b"][part * C:(part + 1) * C])

    def ln(self, x, name):
        return F.layer_norm(x, (self.C,), self.w[name + ".g"], self.w[name + ".b"], 1e-5)

    def heads(self, x):  # (N,T,C) -> (N,H,T,dh)
        return x.view(x.shape[0], -1, self.H, self.dh).transpose(1, 2)

    def attend(self, q, k, v, mask):
        s = (q @ k.transpose(-2, -1)) * (self.dh ** -0.5)
        if mask is not None:
            s = s + mask
        return (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(q.shape[0], -1, self.C)

    def out(self, x, name):
        return self.lin(x, self.w[name + ".out_w"], self.w[name + ".out_b"])

    def ffn(self, x, n):
        h = self.act(self.lin(x, self.w[n + ".ffn.w1"], self.w[n + ".ffn.b1"]))
        return self.lin(h, self.w[n + ".ffn.w2"], self.w[n + ".ffn.b2"])

    def block(self, x, norm, f):
        """post-norm LN(x + f(x)) or pre-norm x + f(LN(x))"""
        if self.pre:
            return x + f(self.ln(x, norm))
        return self.ln(x + f(x), norm)

    def encode(self, src):  # (B,S) -> memory (B,S,C), mask (B,1,1,S)
        B, S = src.shape
        x = self.emb_src[src] * math.sqrt(self.C) + self.pos_src[:S]
        mask = torch.zeros(B, 1, 1, S).masked_fill((src == PAD)[:, None, None, :], float("-inf"))
        for l in range(self.cfg["enc_layers"]):
            n = f"enc.{l}"
            a = n + ".self_attn"
            x = self.block(x, n + ".norm1", lambda h: self.out(self.attend(
                *(self.heads(self.proj(h, a, p)) for p in range(3)), mask), a))
            x = self.block(x, n + ".norm3", lambda h: self.ffn(h, n))
        if self.pre:
            x = self.ln(x, "enc.norm")
        return x, mask

    def start(self, src, expand, maxT):
        """The search state for sentences src (B,S), each row repeated as expand says (B*K rows)."""
        mem, mask = self.encode(src)
        return {"layers": self.init_state(mem.index_select(0, expand), maxT), "mask": mask.index_select(0, expand)}

    def reorder(self, st, sel, rows):
        """Keep hypothesis rows sel (self-attention cache) and, when sentences left the batch, sentence rows rows."""
        for s in st["layers"]:
            for key in ("k", "v"):
                s[key] = s[key].index_select(0, sel)
            if rows is not None:
                s["ck"], s["cv"] = s["ck"].index_select(0, rows), s["cv"].index_select(0, rows)
        if rows is not None:
            st["mask"] = st["mask"].index_select(0, rows)

    def init_state(self, mem, maxT):
        st = []
        for l in range(self.cfg["dec_layers"]):
            a = f"dec.{l}.cross_attn"
            N = mem.shape[0]
            st.append({"ck": self.heads(self.proj(mem, a, 1)), "cv": self.heads(self.proj(mem, a, 2)),
                       "k": torch.empty(N, self.H, maxT, self.dh), "v": torch.empty(N, self.H, maxT, self.dh)})
        return st

    def step(self, tok, t, state):  # tok (N,) at position t -> log-probs (N,V)
        st, mask = state["layers"], state["mask"]
        x = (self.emb_tgt[tok] * math.sqrt(self.C) + self.pos_tgt[t])[:, None, :]
        for l, s in enumerate(st):
            n = f"dec.{l}"

            def sa(h):
                a = n + ".self_attn"
                q, k, v = (self.heads(self.proj(h, a, p)) for p in range(3))
                s["k"][:, :, t:t + 1], s["v"][:, :, t:t + 1] = k, v
                return self.out(self.attend(q, s["k"][:, :, :t + 1], s["v"][:, :, :t + 1], None), a)

            def ca(h):
                a = n + ".cross_attn"
                return self.out(self.attend(self.heads(self.proj(h, a, 0)), s["ck"], s["cv"], mask), a)

            x = self.block(x, n + ".norm1", sa)
            x = self.block(x, n + ".norm2", ca)
            x = self.block(x, n + ".norm3", lambda h: self.ffn(h, n))
        if self.pre:
            x = self.ln(x, "dec.norm")
        return torch.log_softmax(x[:, 0] @ self.out_w.t(), dim=-1)


class Recurrent:
    """Inference of a recurrent encoder-decoder (src/rnn.h) over tensors named as its parameter table: S2S of
    tests/reference/make_golden_s2s.py in float32, with the same start / step / reorder as Model."""

    def __init__(self, cfg, w):
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
        import make_golden_s2s as s2s
        self.cfg = cfg
        c = s2s.Config({"rnn": s2s.RNN, "gru": s2s.GRU, "lstm": s2s.LSTM}[cfg["arch"]], cfg["emb_dim"],
                       cfg["d_model"], cfg["enc_layers"], cfg["attention"], cfg["bidirectional"],
                       cfg["input_feeding"], cfg["tied_embeddings"], vocab=cfg["vocab_size"])
        self.m = s2s.S2S(c, dtype=torch.float32, init=False)
        assert set(w) == set(self.m.slot), "tensor names differ from the reference's table"
        with torch.no_grad():
            for name, t in w.items():
                param, idx = self.m.slot[name]
                param[idx] = t.view(param[idx].shape)
        self.out_proj = self.m.embeddings()[2]

    def start(self, src, expand, maxT):
        st = self.m.start(src)
        for key in ("mem", "keys", "key_pad", "fin", "o"):
            st[key] = st[key].index_select(0, expand)
        for key in ("h", "c"):
            if st[key] is not None:
                st[key] = [x.index_select(0, expand) for x in st[key]]
        return st

    def step(self, tok, t, st):
        return torch.log_softmax(self.m.step(st, tok) @ self.out_proj.t(), dim=-1)

    def reorder(self, st, sel, rows):
        st["o"] = st["o"].index_select(0, sel)
        for key in ("h", "c"):
            if st[key] is not None:
                st[key] = [x.index_select(0, sel) for x in st[key]]
        if rows is not None:
            for key in ("mem", "keys", "key_pad", "fin"):
                st[key] = st[key].index_select(0, rows)


def blas_core():
    """The kernels the OpenBLAS that torch loaded uses (xlat-bench's "blas_core"), None when it is not OpenBLAS."""
    try:
        import ctypes
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return None


def lp_norm(n):
    return ((5.0 + n) / 6.0) ** args.length_penalty


@torch.inference_mode()
def search(model, srcs):
    """Beam search of a batch of id lists -> best id list per sentence, with the semantics of src/beam.c: K slots per
    sentence; a slot whose hypothesis finished (EOS) is dead, so a sentence with f finished hypotheses keeps the best
    K - f extensions of its live ones; a sentence leaves the batch once K hypotheses finished."""
    K, B = args.beam, len(srcs)
    S = max(len(s) for s in srcs)
    src = torch.zeros(B, S, dtype=torch.long)
    for i, s in enumerate(srcs):
        src[i, :len(s)] = torch.tensor(s)
    maxout = torch.tensor([min(int(math.floor(args.max_length_a * len(s) + args.max_length_b)),
                               model.cfg["max_len"] - 1) for s in srcs])
    expand = torch.arange(B).repeat_interleave(K)
    st = model.start(src, expand, int(maxout.max()) + 1)
    sent = list(range(B))                     # original index of each live sentence
    hist = [[[] for _ in range(K)] for _ in range(B)]
    finished = [[] for _ in range(B)]
    scores = torch.full((B, K), float("-inf"))
    scores[:, 0] = 0.0                        # one live hypothesis (BOS) per sentence at the start
    tok = torch.full((B * K,), BOS, dtype=torch.long)
    V = model.cfg["vocab_size"]
    for t in range(int(maxout.max()) + 1):
        Bl = len(sent)
        lp = model.step(tok, t, st)
        lp[:, PAD] = float("-inf")
        lp[:, BOS] = float("-inf")
        cand = scores.view(Bl * K, 1) + lp
        at_limit = (maxout[sent] == t).repeat_interleave(K)
        eos = cand[:, EOS].clone()
        cand[at_limit] = float("-inf")
        cand[at_limit, EOS] = eos[at_limit]
        top_s, top_i = cand.view(Bl, K * V).topk(K, dim=1)
        top_s, top_i = top_s.tolist(), top_i.tolist()
        parents, toks, new_scores, keep = [], [], [], []
        new_hist = []
        for b in range(Bl):
            i = sent[b]
            width = K - len(finished[i])
            live = []
            for sc, ix in zip(top_s[b][:width], top_i[b][:width]):
                if sc == float("-inf"):
                    break
                slot, v = ix // V, ix % V
                if v == EOS:
                    finished[i].append((sc / lp_norm(len(hist[b][slot]) + 1), hist[b][slot]))
                else:
                    live.append((sc, slot, v))
            if not live:
                continue
            keep.append(b)
            slots = []
            for k in range(K):
                sc, slot, v = live[k] if k < len(live) else (float("-inf"), live[0][1], EOS)
                parents.append(b * K + slot)
                toks.append(v)
                new_scores.append(sc)
                slots.append(hist[b][slot] + [v] if k < len(live) else [])
            new_hist.append(slots)
        if not keep:
            break
        rows = None
        if len(keep) < Bl:  # finished sentences leave the batch
            rows = torch.tensor(keep).repeat_interleave(K) * K + torch.arange(K).repeat(len(keep))
        model.reorder(st, torch.tensor(parents), rows)
        sent = [sent[b] for b in keep]
        hist = new_hist
        scores = torch.tensor(new_scores).view(len(keep), K)
        tok = torch.tensor(toks)
    out = []
    for f in finished:
        best = None
        for k, (sc, y) in enumerate(f):  # first finished wins ties, as in src/beam.c
            if best is None or sc > best[0]:
                best = (sc, y)
        out.append(best[1] if best else [])
    return out


def main():
    cfg, w = load(args.model)
    model = Model(cfg, w) if cfg.get("arch", "transformer") == "transformer" else Recurrent(cfg, w)
    srcs = []
    with open(args.input) as f:
        for line in f:
            srcs.append([int(x) for x in line.split()])
    order = [i for i in sorted(range(len(srcs)), key=lambda i: (len(srcs[i]), i)) if srcs[i]]
    out = [[] for _ in srcs]
    t0 = time.perf_counter()
    for b in range(0, len(order), args.batch_size):
        idx = order[b:b + args.batch_size]
        for i, y in zip(idx, search(model, [srcs[i] for i in idx])):
            out[i] = y
    el = time.perf_counter() - t0
    if args.output:
        with open(args.output, "w") as f:
            for y in out:
                f.write(" ".join(map(str, y)) + "\n")
    tokens = sum(len(y) + 1 for y in out)
    print(json.dumps({"impl": "torch", "torch": torch.__version__, "arch": cfg.get("arch", "transformer"),
                      "blas_core": blas_core(), "threads": args.threads, "beam": args.beam,
                      "batch_size": args.batch_size, "sentences": len(srcs), "seconds": round(el, 3),
                      "sent_per_s": round(len(srcs) / el, 2), "tgt_tok_per_s": round(tokens / el, 1),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)}))


if __name__ == "__main__":
    main()
