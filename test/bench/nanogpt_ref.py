"""TIAOYU's PyTorch reference for the training benchmark (test/bench/train.bench.ts --vs-pytorch).

The same GPT-2-style decoder as lib/model, written plainly in PyTorch, timed the same way: Adam(1e-3, 0.9, 0.99),
float32, PyTorch's default threads, random token batches, median ms per step after 2 warm-up steps; then forward
only, then greedy generation with a key/value cache at batch 1 and 8; then the equivalent of the course's own loop
(AdamW with decay on matrices only, clipping at global norm 1, no accumulation); with "sft_batch", a full-SFT step
against a LoRA step (rank and alpha as lib/train/lora.ts, adapters on every linear layer of the blocks, base weights
frozen); and the float32 peak of torch.mm on 1024² matrices. Prints one JSON line.

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


class LoraLinear(nn.Module):
    """y = base(x) + (alpha/r)·(x·A)·B with the base frozen, as lib/train/lora.ts's LoraLinear."""

    def __init__(self, base, rank, alpha):
        super().__init__()
        self.base = base
        base.weight.requires_grad_(False)
        if base.bias is not None:
            base.bias.requires_grad_(False)
        self.a = nn.Parameter(torch.randn(base.in_features, rank) / math.sqrt(base.in_features))
        self.b = nn.Parameter(torch.zeros(rank, base.out_features))
        self.scale = alpha / rank

    def forward(self, x):
        return self.base(x) + (x @ self.a @ self.b) * self.scale


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


def time_generation(model, B, n, sample=False, reps=2):
    """Seconds per token of generation with the key/value cache at batch B, n tokens, the median of `reps` runs
    after one warm-up; greedy, or drawn from softmax(logits) (temperature 1) when `sample`."""
    times = []
    with torch.no_grad():
        for rep in range(1 + reps):
            caches = [{} for _ in model.h]
            nxt = torch.arange(1, B + 1).view(B, 1)
            t0 = time.perf_counter()
            for t in range(n):
                logits = model(nxt, caches=caches, offset=t)[:, -1]
                if sample:
                    nxt = torch.multinomial(F.softmax(logits, dim=-1), 1)
                else:
                    nxt = logits.argmax(-1, keepdim=True)
            nxt.tolist()  # the ids reach Python, as TIAOYU's reach JavaScript
            if rep > 0:
                times.append((time.perf_counter() - t0) / (B * n))
    return median(times)


def generate_only(c):
    """Only the generation rows (test/bench/generate.bench.ts): batch 1 greedy and sampled, batch 8 greedy."""
    torch.manual_seed(1337)
    model = GPT(c)
    model.eval()
    n = min(c["block_size"], 64)
    reps = c.get("reps", 2)
    out = {
        "generate_tokens_per_sec": 1 / time_generation(model, 1, n, reps=reps),
        "generate_sampled_tokens_per_sec": 1 / time_generation(model, 1, n, sample=True, reps=reps),
        "generate8_tokens_per_sec": 1 / time_generation(model, 8, n, reps=reps),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }
    print(json.dumps(out))


def main():
    c = json.loads(sys.argv[1])
    if c.get("generate_only"):
        return generate_only(c)
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

        gen8 = []
        for rep in range(2):
            caches = [{} for _ in model.h]
            nxt = torch.arange(1, 9).view(8, 1)
            t0 = time.perf_counter()
            for t in range(n):
                logits = model(nxt, caches=caches, offset=t)
                nxt = logits[:, -1].argmax(-1, keepdim=True)
            if rep > 0:
                gen8.append((time.perf_counter() - t0) / (8 * n))

    out = {
        "ms_per_step": median(times) * 1000,
        "cpu_ms_per_step": median(cpu) * 1000,
        "train_tokens_per_sec": B * T / median(times),
        "forward_tokens_per_sec": B * T / median(fwd),
        "generate_tokens_per_sec": 1 / median(gen),
        "generate8_tokens_per_sec": 1 / median(gen8),
        "params": sum(p.numel() for p in model.parameters()),
        "first_loss": losses[0],
        "last_loss": losses[-1],
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }
    out["loop_ms"] = time_loop(GPT(c), batches, steps, None)
    if "sft_batch" in c:
        sb = c["sft_batch"]
        sft_batches = [(torch.randint(0, V, (sb, T)), torch.randint(0, V, (sb, T))) for _ in range(4)]
        mask = (torch.arange(T) >= T // 2).float().expand(sb, T)  # the loss on the answer half, as the TIAOYU bench
        full, lora = [], []
        for _ in range(2):
            full.append(time_loop(GPT(c), sft_batches, steps, mask))
            m = GPT(c)
            for blk in m.h:
                blk.attn.c_attn = LoraLinear(blk.attn.c_attn, c["lora_rank"], c["lora_alpha"])
                blk.attn.c_proj = LoraLinear(blk.attn.c_proj, c["lora_rank"], c["lora_alpha"])
                blk.c_fc = LoraLinear(blk.c_fc, c["lora_rank"], c["lora_alpha"])
                blk.c_proj = LoraLinear(blk.c_proj, c["lora_rank"], c["lora_alpha"])
            for name, p in m.named_parameters():
                if not (name.endswith(".a") or name.endswith(".b")):
                    p.requires_grad_(False)
            lora.append(time_loop(m, sft_batches, steps, mask, decay=0.0))
        out["sft_full_ms"] = median(full)
        out["sft_lora_ms"] = median(lora)
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    mm = []
    for i in range(9):
        t0 = time.perf_counter()
        a @ b
        if i >= 2:
            mm.append(time.perf_counter() - t0)
    out["peak_gflops"] = 2 * 1024 ** 3 / median(mm) / 1e9
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def time_loop(model, batches, steps, mask, decay=0.1):
    """ms per step of the course loop's equivalent: AdamW (decay on matrices), clip at norm 1, loss and norm read."""
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    opt = torch.optim.AdamW([g for g in groups if g["params"]], lr=1e-3, betas=(0.9, 0.95), eps=1e-8)
    times = []
    for i in range(2 + steps):
        x, y = batches[i % len(batches)]
        t0 = time.perf_counter()
        logits = model(x)
        nll = F.cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1), reduction="none")
        loss = nll.mean() if mask is None else (nll * mask.reshape(-1)).sum() / mask.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        loss.item(), norm.item()
        if i >= 2:
            times.append(time.perf_counter() - t0)
    return median(times) * 1000


if __name__ == "__main__":
    main()
