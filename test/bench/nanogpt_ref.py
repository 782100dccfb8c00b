"""TIAOYU's PyTorch reference for the training benchmark (test/bench/train.bench.ts --vs-pytorch).

The same GPT-2-style decoder as lib/model, written plainly in PyTorch, timed the same way: Adam(1e-3, 0.9, 0.99),
float32, PyTorch's default threads, random token batches, median ms per step after 2 warm-up steps; then forward
only, then greedy generation with a key/value cache. Prints one JSON line.

    /usr/bin/python3 test/bench/nanogpt_ref.py '{"vocab_size": 5757, "block_size": 64, "n_layer": 4, ...}'
"""
import json
import math
import resource
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.n_head = c["n_head"]
        self.c_attn = nn.Linear(c["n_embd"], 3 * c["n_embd"], bias=c["bias"])
        self.c_proj = nn.Linear(c["n_embd"], c["n_embd"], bias=c["bias"])
        self.drop = nn.Dropout(c["dropout"])
        T = c["block_size"]
        self.register_buffer("mask", torch.tril(torch.ones(T, T, dtype=torch.bool)))

    def forward(self, x, cache=None):
        B, T, D = x.shape
        q, k, v = self.c_attn(x).split(D, dim=2)
        heads = lambda t: t.view(B, T, self.n_head, D // self.n_head).transpose(1, 2)  # [B, nh, T, hs]
        q, k, v = heads(q), heads(k), heads(v)
        offset = 0
        if cache is not None:
            if "k" in cache:
                offset = cache["k"].shape[2]
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        S = k.shape[2]
        att = (q @ k.transpose(-2, -1)) / math.sqrt(D // self.n_head)  # [B, nh, T, S]
        att = att.masked_fill(~self.mask[offset:offset + T, :S], float("-inf"))
        att = self.drop(F.softmax(att, dim=-1))
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, D)
        return self.drop(self.c_proj(y))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        D = c["n_embd"]
        self.ln_1 = nn.LayerNorm(D, elementwise_affine=True)
        self.attn = Attention(c)
        self.ln_2 = nn.LayerNorm(D)
        self.c_fc = nn.Linear(D, 4 * D, bias=c["bias"])
        self.c_proj = nn.Linear(4 * D, D, bias=c["bias"])
        self.drop = nn.Dropout(c["dropout"])
        if not c["bias"]:  # like lib/model's LayerNorm without bias
            self.ln_1.bias = None
            self.ln_2.bias = None

    def forward(self, x, cache=None):
        x = x + self.attn(self.ln_1(x), cache)
        h = F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh")  # GPT-2's gelu, as lib/model
        return x + self.drop(self.c_proj(h))


class GPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        D = c["n_embd"]
        self.wte = nn.Embedding(c["vocab_size"], D)
        self.wpe = nn.Embedding(c["block_size"], D)
        self.drop = nn.Dropout(c["dropout"])
        self.h = nn.ModuleList([Block(c) for _ in range(c["n_layer"])])
        self.ln_f = nn.LayerNorm(D)
        if not c["bias"]:
            self.ln_f.bias = None
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, 0.0, 0.02)

    def forward(self, ids, targets=None, caches=None, offset=0):
        T = ids.shape[1]
        pos = torch.arange(offset, offset + T)
        x = self.drop(self.wte(ids) + self.wpe(pos))
        for i, block in enumerate(self.h):
            x = block(x, caches[i] if caches is not None else None)
        logits = self.ln_f(x) @ self.wte.weight.t()  # tied output layer
        if targets is None:
            return logits
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))


def median(xs):
    s = sorted(xs)
    m = len(s) // 2
    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2


def main():
    c = json.loads(sys.argv[1])
    torch.manual_seed(1337)
    B, T, V, steps = c["batch"], c["block_size"], c["vocab_size"], c["steps"]
    model = GPT(c)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.99))
    batches = [(torch.randint(0, V, (B, T)), torch.randint(0, V, (B, T))) for _ in range(4)]

    model.train()
    times, cpu, losses = [], [], []
    for i in range(2 + steps):
        x, y = batches[i % len(batches)]
        t0 = time.perf_counter()
        c0 = time.process_time()
        loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if i >= 2:
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)

    model.eval()
    fwd = []
    with torch.no_grad():
        for i in range(1 + steps):
            x, y = batches[i % len(batches)]
            t0 = time.perf_counter()
            model(x, y).item()
            if i > 0:
                fwd.append(time.perf_counter() - t0)

        gen = []
        n = min(T, 64)
        for rep in range(2):
            caches = [{} for _ in model.h]
            nxt = torch.tensor([[1]])
            t0 = time.perf_counter()
            for t in range(n):
                logits = model(nxt, caches=caches, offset=t)
                nxt = logits[:, -1].argmax(-1, keepdim=True)
            if rep > 0:
                gen.append((time.perf_counter() - t0) / n)

    ms = median(times) * 1000
    print(json.dumps({
        "ms_per_step": ms,
        "cpu_ms_per_step": median(cpu) * 1000,
        "train_tokens_per_sec": B * T / median(times),
        "forward_tokens_per_sec": B * T / median(fwd),
        "generate_tokens_per_sec": 1 / median(gen),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "params": sum(p.numel() for p in model.parameters()),
        "first_loss": losses[0],
        "last_loss": losses[-1],
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
