#!/usr/bin/env python3
"""Independent PyTorch model of the paper's toy setup, trained beside sinklab.

The authors' architecture (GuoTianYu2000/Active-Dormant-Attention, BBM/model.py, as
summarised in the project's PAPER notes) written from scratch with torch.nn and its
default initialisation: token and learned position embeddings (nn.Embedding, N(0, 1)),
pre-LayerNorm blocks, single-head causal attention without biases (scale 1/sqrt(d)),
MLP d -> 4d -> d with ReLU and no biases, final LayerNorm, untied output layer
(nn.Linear, U(+-1/sqrt(fan_in))). Data: the Bigram-Backcopy task on the Tiny
Shakespeare character bigrams with the 3 most frequent characters as triggers,
generated here with numpy (not sinklab's generator). AdamW betas (0.9, 0.99), eps 1e-8,
weight decay 1e-4, fresh batches every step.

It trains `--seeds` seeds for `--steps` steps, measures per layer the BOS attention
mass at non-trigger queries and the residual norm ratio BOS / others after the layer
on a fixed batch of 128 sequences, then (with --sinklab BIN) trains the same
configuration with sinklab (`train --preset cpu-3l`, the same seeds), analyses it at
the same step and prints both side by side with their seed spread. Agreement: the
difference of the means is within twice its standard error over seeds.

  /usr/bin/python3 bench/bb_reference.py --sinklab build/sinklab --seeds 3 --steps 1000
"""
import argparse
import concurrent.futures
import csv
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


class Source:
    def __init__(self, path, n_triggers=3):
        d = json.load(open(path))
        self.vocab = d["vocab"]
        uni = np.asarray(d["unigram_counts"], dtype=np.float64)
        big = np.asarray(d["bigram_counts"], dtype=np.float64)
        self.V = len(self.vocab)
        self.bos = self.V  # one extra token
        self.triggers = np.argsort(-uni, kind="stable")[:n_triggers]
        u = uni.copy()
        u[self.triggers] = 0
        self.first = u / u.sum()
        rows = big.sum(1, keepdims=True)
        self.P = np.where(rows > 0, big / np.maximum(rows, 1), uni / uni.sum())
        self.cum = np.cumsum(self.P, 1)
        self.is_trig = np.zeros(self.V + 1, dtype=bool)
        self.is_trig[self.triggers] = True

    def batch(self, rng, B, T):
        """[B, T+1] tokens: BOS, x1 ~ unigram without triggers, then bigram or backcopy."""
        x = np.empty((B, T + 1), dtype=np.int64)
        x[:, 0] = self.bos
        x[:, 1] = rng.choice(self.V, size=B, p=self.first)
        for t in range(2, T + 1):
            prev = x[:, t - 1]
            r = rng.random(B)[:, None]
            nxt = (r > self.cum[prev]).sum(1)
            nxt = np.minimum(nxt, self.V - 1)
            x[:, t] = np.where(self.is_trig[prev], x[:, t - 2], nxt)
        return x


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d, bias=False) for _ in range(4))
        self.fc1, self.fc2 = nn.Linear(d, 4 * d, bias=False), nn.Linear(4 * d, d, bias=False)

    def forward(self, x, keep):
        h = self.ln1(x)
        q, k, v = self.q(h), self.k(h), self.v(h)
        s = q @ k.transpose(1, 2) / math.sqrt(q.shape[-1])
        T = x.shape[1]
        s = s.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
        p = s.softmax(-1)
        x = x + self.o(p @ v)
        x = x + self.fc2(F.relu(self.fc1(self.ln2(x))))
        if keep is not None:
            keep.append((p.detach(), x.detach()))
        return x


class Model(nn.Module):
    def __init__(self, vocab, T, d, L):
        super().__init__()
        self.emb, self.pos = nn.Embedding(vocab, d), nn.Embedding(T, d)
        self.blocks = nn.ModuleList(Block(d) for _ in range(L))
        self.ln, self.out = nn.LayerNorm(d), nn.Linear(d, vocab, bias=False)

    def forward(self, x, keep=None):
        h = self.emb(x) + self.pos(torch.arange(x.shape[1]))
        for b in self.blocks:
            h = b(h, keep)
        return self.out(self.ln(h))


def measure(model, src, x):
    keep = []
    with torch.no_grad():
        model(torch.from_numpy(x[:, :-1]), keep)
    inp = x[:, :-1]
    non = ~src.is_trig[inp]
    non[:, 0] = False
    non = torch.from_numpy(non)
    out = []
    for p, r in keep:
        bos = p[:, :, 0]
        norms = r.norm(dim=-1)
        out.append({"bos_mass_nontrigger": bos[non].mean().item(),
                    "resid_ratio": (norms[:, 0].mean() / norms[:, 1:].mean()).item()})
    return out


def train_reference(src, seed, steps, lr, d, T, B, L):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = Model(src.V + 1, T, d, L)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.99), eps=1e-8, weight_decay=1e-4)
    for _ in range(steps):
        x = torch.from_numpy(src.batch(rng, B, T))
        loss = F.cross_entropy(model(x[:, :-1]).reshape(-1, src.V + 1), x[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


def reference_job(counts, seed, steps, lr, B, L):
    torch.set_num_threads(1)
    src = Source(counts)
    evalx = src.batch(np.random.default_rng(20241017), 128, 64)
    return measure(train_reference(src, seed, steps, lr, 64, 64, B, L), src, evalx)


def sinklab_run(binary, out, seed, steps, lr, B, L):
    name = f"s{seed}"
    subprocess.run([binary, "train", "--preset", f"cpu-{L}l", "--set", f"train.steps={steps}", "--set",
                    f"train.seed={seed}", "--set", f"train.lr={lr}", "--set", f"train.batch_size={B}", "--set",
                    f"run.out_dir={out}", "--set", f"run.name={name}", "--set", "train.threads=1", "--set",
                    "checkpoints.sparse=every", "--set", f"checkpoints.sparse_every={steps}"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run([binary, "analyze", f"{out}/{name}", "--no-figures", "--eval-seqs", "128", "--steps",
                    str(steps)], check=True, stdout=subprocess.DEVNULL)
    heads = list(csv.DictReader(open(f"{out}/{name}/analysis/heads.csv")))
    layers = list(csv.DictReader(open(f"{out}/{name}/analysis/layers.csv")))
    res = []
    for l in range(L):
        h = [r for r in heads if int(r["step"]) == steps and int(r["layer"]) == l][0]
        y = [r for r in layers if int(r["step"]) == steps and int(r["layer"]) == l][0]
        res.append({"bos_mass_nontrigger": float(h["bos_mass_nontrigger"]), "resid_ratio": float(y["resid_ratio"])})
    return res


def stats(v):
    v = np.asarray(v)
    return v.mean(), (v.std(ddof=1) if len(v) > 1 else 0.0)


def main():
    # Jobs are submitted at once; a binary that is rebuilt meanwhile would fail them, so
    # the caller should point --sinklab at a copy when it keeps building.
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--counts", default=os.path.join(HERE, "..", "data", "bb", "tinyshakespeare_char_counts.json"))
    ap.add_argument("--sinklab", help="sinklab binary: also train and measure sinklab")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--jobs", type=int, default=2, help="single-threaded jobs at a time")
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args()
    torch.set_num_threads(1)
    rows = {"reference": [None] * a.seeds, "sinklab": [None] * a.seeds if a.sinklab else []}
    t0 = time.time()
    # Every (implementation, seed) is one single-threaded job; --jobs of them at a time.
    with tempfile.TemporaryDirectory() as out, concurrent.futures.ProcessPoolExecutor(a.jobs) as pool:
        futs = {}
        for s in range(a.seeds):
            futs[pool.submit(reference_job, a.counts, s, a.steps, a.lr, a.batch, a.layers)] = ("reference", s)
            if a.sinklab:
                futs[pool.submit(sinklab_run, a.sinklab, out, s, a.steps, a.lr, a.batch, a.layers)] = ("sinklab", s)
        for f in concurrent.futures.as_completed(futs):
            who, s = futs[f]
            rows[who][s] = f.result()  # a failed job ends the script here, naming its error
            print(f"{who} seed {s}: {rows[who][s]} ({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
    print(f"step {a.steps}, lr {a.lr}, batch {a.batch}, {a.layers} layers, {a.seeds} seeds; mean +- sd over seeds")
    print("| layer | quantity | reference (PyTorch " + torch.__version__ + ") | sinklab | agree |")
    print("|---|---|---|---|---|")
    agree_all = True
    for l in range(a.layers):
        for q in ("bos_mass_nontrigger", "resid_ratio"):
            r = [x[l][q] for x in rows["reference"]]
            mr, sr = stats(r)
            cells = [f"{mr:.3f} +- {sr:.3f} ({', '.join(f'{v:.2f}' for v in r)})"]
            if rows["sinklab"]:
                k = [x[l][q] for x in rows["sinklab"]]
                mk, sk = stats(k)
                se = math.sqrt((sr ** 2 + sk ** 2) / a.seeds)
                ok = abs(mr - mk) <= 2 * se + 1e-12
                agree_all &= ok
                cells += [f"{mk:.3f} +- {sk:.3f} ({', '.join(f'{v:.2f}' for v in k)})", "yes" if ok else "NO"]
            else:
                cells += ["", ""]
            print(f"| {l} | {q} | " + " | ".join(cells) + " |")
    if a.json:
        json.dump(rows, open(a.json, "w"), indent=1)
    if rows["sinklab"]:
        print("all agree" if agree_all else "some quantities differ beyond the seed spread")


if __name__ == "__main__":
    main()
