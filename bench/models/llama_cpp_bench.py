#!/usr/bin/env python3
"""Baseline: prompt processing, time to first token and greedy generation speed of a GGUF model
on llama.cpp (through llama-cpp-python), CPU only.

One measured run:
  1. llm.reset(); llm.eval(prompt of exactly P tokens)      -> prompt_tok_s = P / elapsed
  2. argmax of the last logits = first generated token      -> ttft_ms = (1) + (2)
  3. G decode steps, each llm.eval([previous token]) + argmax -> gen_tok_s = G / elapsed
     (greedy, EOS is never special-cased, so exactly G tokens are decoded; the first token
     sampled in step 2 is not part of the G)
One untimed warm-up run comes first; each reported number is the median over --repeats runs
(taken per metric). peak_rss_mb is ru_maxrss of the whole process at the end.

Prints one JSON line on stdout; progress goes to stderr.

    .bench-venv/bin/python bench/models/llama_cpp_bench.py \\
        --model models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf --threads 2
    .bench-venv/bin/python bench/models/llama_cpp_bench.py --dump-prompt /tmp/prompt.txt
"""

import argparse
import json
import os
import random
import resource
import statistics
import sys
import time

from _common import log, peak_rss_mb, warn_if_busy

N_CTX = 2048
N_BATCH = 512
SEED = 1234


# ---------------------------------------------------------------------------------------------
# Deterministic English prompt text (20 paragraphs, ~1,800 words, ~2,500 SmolLM2 tokens). The benchmark tokenizes it
# with the model's tokenizer and keeps the first P tokens.
# ---------------------------------------------------------------------------------------------

_SHOPS = ["The Corner Bakery", "Riverside Books", "Greenleaf Garden Centre", "Harbour Bikes",
          "The Copper Kettle Cafe", "Northgate Pharmacy", "Maple Street Hardware", "Lumen Opticians"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_GOODS = ["sourdough loaves", "second-hand novels", "tomato seedlings", "repair kits",
          "filter coffee", "allergy tablets", "garden hoses", "reading glasses", "gift vouchers"]
_CITIES = ["Leeds", "Bristol", "Glasgow", "Cardiff", "York", "Brighton", "Oxford", "Belfast"]


def _days(n):
    return "1 day" if n == 1 else f"{n} days"


def _paragraph(r):
    shop = r.choice(_SHOPS)
    d1, d2 = r.sample(_DAYS, 2)
    g1, g2 = r.sample(_GOODS, 2)
    city = r.choice(_CITIES)
    open_h, close_h = r.randint(7, 10), r.randint(5, 9)
    s = [
        f"{shop} opens at {open_h} in the morning from {d1} to {d2} and closes at {close_h} in the evening.",
        f"Customers often ask whether {g1} can be reserved in advance, and the answer is yes, "
        f"as long as the order is placed at least {_days(r.randint(1, 3))} before collection.",
        f"Prices for {g2} start at {r.randint(2, 40)} pounds {r.choice(['', 'and 50 pence '])}"
        f"and there is a {r.randint(5, 25)} percent discount for members of the loyalty scheme.",
        f"Deliveries to {city} leave the warehouse every {r.choice(_DAYS)} morning "
        f"and usually arrive within {r.choice(['one', 'two', 'three', 'four'])} working days.",
        r.choice([
            "If a parcel is late, the support team will track it and reply by email within one day.",
            "Bookings can be moved or cancelled free of charge up to twenty-four hours beforehand.",
            "On bank holidays the shop keeps shorter hours, which are posted on the front door.",
            "Staff are happy to help with questions about sizes, stock levels and gift wrapping.",
            "Payment is accepted by card, by phone and in cash, but not by cheque.",
        ]),
    ]
    return " ".join(s)


def make_prompt_text(n_paragraphs=20, seed=SEED):
    r = random.Random(seed)
    return "\n\n".join(_paragraph(r) for _ in range(n_paragraphs)) + "\n"


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="GGUF file")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--prompt-tokens", type=int, default=256)
    ap.add_argument("--gen-tokens", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dump-prompt", metavar="PATH", help="write the prompt text (before tokenization)")
    ap.add_argument("--dump-prompt-tokens", metavar="PATH",
                    help="write the P prompt token ids (JSON list) as fed to the model")
    args = ap.parse_args()
    P, G = args.prompt_tokens, args.gen_tokens

    text = make_prompt_text()
    if args.dump_prompt:
        with open(args.dump_prompt, "w", encoding="utf-8") as f:
            f.write(text)
        log(f"wrote prompt text ({len(text)} chars) to {args.dump_prompt}")
    if not args.model:
        if args.dump_prompt:
            return
        ap.error("--model is required")
    if P < 1 or G < 1 or P + G + 1 > N_CTX:
        ap.error(f"need 1 <= P, 1 <= G and P + G + 1 <= n_ctx ({N_CTX})")

    import numpy as np
    import llama_cpp

    load1 = warn_if_busy()

    t0 = time.perf_counter()
    llm = llama_cpp.Llama(model_path=args.model, n_ctx=N_CTX, n_batch=N_BATCH,
                          n_threads=args.threads, n_threads_batch=args.threads,
                          n_gpu_layers=0, verbose=False)
    load_ms = (time.perf_counter() - t0) * 1000
    log(f"loaded {args.model} in {load_ms:.0f} ms (llama-cpp-python {llama_cpp.__version__})")

    tokens = llm.tokenize(text.encode("utf-8"), add_bos=True, special=False)
    if len(tokens) < P:
        sys.exit(f"prompt text has only {len(tokens)} tokens, {P} requested")
    prompt = tokens[:P]
    log(f"prompt: {P} of {len(tokens)} tokens (first ids {prompt[:4]})")
    if args.dump_prompt_tokens:
        with open(args.dump_prompt_tokens, "w") as f:
            json.dump(prompt, f)
        log(f"wrote {P} prompt token ids to {args.dump_prompt_tokens}")

    # Since 0.3.x, Llama.eval() no longer copies logits into llm.scores unless logits_all=True,
    # so read the last token's logits straight from the context (zero-copy view).
    n_vocab = llm.n_vocab()
    ctx = llm._ctx.ctx

    def last_argmax():
        ptr = llama_cpp.llama_get_logits_ith(ctx, -1)
        return int(np.argmax(np.ctypeslib.as_array(ptr, shape=(n_vocab,))))

    def run_once():
        llm.reset()
        t_start = time.perf_counter()
        llm.eval(prompt)
        t_prompt = time.perf_counter()
        tok = last_argmax()
        t_first = time.perf_counter()
        out = [tok]
        for _ in range(G):
            llm.eval([tok])
            tok = last_argmax()
            out.append(tok)
        t_end = time.perf_counter()
        assert llm.n_tokens == P + G, (llm.n_tokens, P + G)
        return {
            "prompt_tok_s": P / (t_prompt - t_start),
            "ttft_ms": (t_first - t_start) * 1000,
            "gen_tok_s": G / (t_end - t_first),
        }, out

    _, out = run_once()  # warm-up (untimed)
    sample = llm.detokenize(out[:24]).decode("utf-8", "replace").replace("\n", "\\n")
    log(f"warm-up done; greedy continuation starts: {sample!r}")

    runs = []
    for rep in range(args.repeats):
        m, _ = run_once()
        runs.append(m)
        log(f"repeat {rep + 1}/{args.repeats}: prompt {m['prompt_tok_s']:.1f} tok/s, "
            f"ttft {m['ttft_ms']:.1f} ms, gen {m['gen_tok_s']:.1f} tok/s")

    def med(k):
        return statistics.median(r[k] for r in runs)

    print(json.dumps({
        "engine": "llama.cpp",
        "threads": args.threads,
        "prompt_tokens": P,
        "prompt_tok_s": round(med("prompt_tok_s"), 2),
        "ttft_ms": round(med("ttft_ms"), 2),
        "gen_tokens": G,
        "gen_tok_s": round(med("gen_tok_s"), 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "load_ms": round(load_ms, 1),
        "load_avg_1m": round(load1, 2),  # at start; > ~0.5 means the numbers are contended
        "version": llama_cpp.__version__,
    }), flush=True)


if __name__ == "__main__":
    main()
