#!/usr/bin/python3
"""PyTorch yardstick for `xlat-bench train`: the same model, batch shape and training step, in PyTorch 1.13.

The model is xlat's preset (src/model.c): post-norm, ReLU, tied source/target/output embeddings scaled by sqrt(C),
sinusoidal positions, dropout 0.1 on embeddings, residual branches and the FFN inner activation, none on attention
probabilities (nn.Transformer adds a final layer norm per stack: 4C parameters, negligible work); label smoothing 0.1, Adam with warmup. One step = forward, backward and the Adam update on a random
batch of --sents sentences of --len source and --len target tokens. Prints one JSON line (medians over the timed
steps) with the same keys as xlat-bench: tokens_per_s counts target tokens.

  OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 tests/bench/torch_train.py --preset small --threads 2
(without OMP_WAIT_POLICY=PASSIVE, OpenMP threads spin and fight OpenBLAS's for the cores)

With --arch rnn|gru|lstm the model is instead a recurrent encoder-decoder of src/rnn.h, the one PyTorch reference of
tests/reference/make_golden_s2s.py (S2S: a packed nn.RNN / nn.GRU / nn.LSTM encoder, one nn.*Cell per decoder layer
stepped in Python, attention keys over the memory computed once per batch) in float32, dropout --dropout on rnn.h's
places, the output projection once over all steps. Its flags and defaults are xlat_config_preset(arch)'s and
xlat-bench's: --d-model 256 (hidden size), --emb-dim = --d-model, --layers 1, --attention additive,
--bidirectional 1, --input-feeding 0, --tied-embeddings 1, --dropout 0.3.
"""
import argparse
import json
import math
import os
import resource
import statistics
import time

p = argparse.ArgumentParser()
p.add_argument("--preset", choices=["tiny", "small", "base", "big"], default="small")
p.add_argument("--arch", choices=["transformer", "rnn", "gru", "lstm"], default="transformer")
p.add_argument("--d-model", type=int, default=256)
p.add_argument("--emb-dim", type=int, default=0, help="recurrent: embedding size (0: --d-model)")
p.add_argument("--layers", type=int, default=1, help="recurrent: encoder and decoder layers")
p.add_argument("--attention", choices=["none", "dot", "general", "additive"], default="additive")
p.add_argument("--bidirectional", type=int, choices=[0, 1], default=1)
p.add_argument("--input-feeding", type=int, choices=[0, 1], default=0)
p.add_argument("--tied-embeddings", type=int, choices=[0, 1], default=1)
p.add_argument("--dropout", type=float, default=0.3, help="recurrent: dropout (the Transformer's is 0.1)")
p.add_argument("--threads", type=int, default=2)
p.add_argument("--sents", type=int, default=80)
p.add_argument("--len", type=int, default=25)
p.add_argument("--vocab", type=int, default=8000)
p.add_argument("--steps", type=int, default=10)
args = p.parse_args()
os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(args.threads)

import sys  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import make_golden_s2s as s2s  # noqa: E402

torch.set_num_threads(args.threads)
torch.set_num_interop_threads(1)
def blas_core():
    """The kernels the OpenBLAS that torch loaded uses (xlat-bench's "blas_core"), None when it is not OpenBLAS."""
    try:
        import ctypes
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return None


PRESETS = {"tiny": (128, 2, 4, 512), "small": (256, 3, 4, 1024), "base": (512, 6, 8, 2048), "big": (1024, 6, 16, 4096)}
PAD, BOS = 0, 2


class Transformer(nn.Module):
    def __init__(self, V, C, layers, heads, ff, dropout=0.1, max_len=256):
        super().__init__()
        self.C = C
        self.embed = nn.Parameter(torch.randn(V, C) * C ** -0.5)
        pos = torch.arange(max_len, dtype=torch.float32)[:, None] / torch.pow(10000.0, torch.arange(0, C, 2) / C)
        pe = torch.zeros(max_len, C)
        pe[:, 0::2], pe[:, 1::2] = torch.sin(pos), torch.cos(pos)
        self.register_buffer("pe", pe)
        self.drop = nn.Dropout(dropout)
        self.core = nn.Transformer(C, heads, layers, layers, ff, dropout, batch_first=True)
        for m in self.core.modules():  # xlat has no dropout on attention probabilities
            if isinstance(m, nn.MultiheadAttention):
                m.dropout = 0.0

    def embed_tokens(self, ids):
        return self.drop(F.embedding(ids, self.embed) * math.sqrt(self.C) + self.pe[:ids.shape[1]])

    def forward(self, src, tgt_in):
        causal = torch.triu(torch.full((tgt_in.shape[1],) * 2, float("-inf")), 1)
        pad = src == PAD
        h = self.core(self.embed_tokens(src), self.embed_tokens(tgt_in), tgt_mask=causal,
                      src_key_padding_mask=pad, memory_key_padding_mask=pad)
        return h @ self.embed.t()


torch.manual_seed(1)
if args.arch == "transformer":
    C, layers, heads, ff = PRESETS[args.preset]
    model = Transformer(args.vocab, C, layers, heads, ff).train()
    params = list(model.parameters())
else:
    cfg = s2s.Config({"rnn": s2s.RNN, "gru": s2s.GRU, "lstm": s2s.LSTM}[args.arch], args.emb_dim or args.d_model,
                     args.d_model, args.layers, ["none", "dot", "general", "additive"].index(args.attention),
                     args.bidirectional, args.input_feeding, args.tied_embeddings, vocab=args.vocab)
    rnn = s2s.S2S(cfg, dtype=torch.float32, dropout=args.dropout).train()
    params = rnn.leaves()
    for q in params:
        q.requires_grad_(True)

    def model(src, tgt_in):
        return rnn.forward(src, tgt_in, per_step=False)
opt = torch.optim.Adam(params, lr=5e-4, betas=(0.9, 0.98), eps=1e-9)
B, L = args.sents, args.len
src = torch.randint(4, args.vocab, (B, L))
tgt = torch.randint(4, args.vocab, (B, L))
tgt_in = torch.cat([torch.full((B, 1), BOS), tgt[:, :-1]], 1)


def step():
    opt.zero_grad(set_to_none=True)
    logits = model(src, tgt_in)
    loss = F.cross_entropy(logits.view(-1, args.vocab), tgt.reshape(-1), label_smoothing=0.1, ignore_index=PAD,
                           reduction="sum")
    (loss / (B * L)).backward()
    opt.step()


for _ in range(2):  # warm-up
    step()
times = []
for _ in range(args.steps):
    t0 = time.perf_counter()
    step()
    times.append(time.perf_counter() - t0)
sec = statistics.median(times)
print(json.dumps({"impl": "torch", "torch": torch.__version__, "arch": args.arch,
                  "preset": args.preset if args.arch == "transformer" else args.arch, "threads": args.threads,
                  "batch_tokens": B * L, "steps": args.steps, "sec_per_step": round(sec, 4),
                  "tokens_per_s": round(B * L / sec, 1), "params": sum(q.numel() for q in params),
                  "blas_core": blas_core(),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
