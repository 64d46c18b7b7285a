#!/usr/bin/env bash
# Side-by-side model benchmarks on this machine (`make bench-models`; minutes, not in CI):
# Brain's native backend (and candle, for reference) against llama.cpp on the same GGUF, prompt and
# thread count; Brain's MiniLM against ONNX Runtime int8 on the same sentences. Prints each JSON
# line, then the ratios (Brain / baseline; above 1.0 is Brain faster, for RSS lower is better).
#
#   THREADS="1 2" REPEATS=3 bash bench/models/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
THREADS="${THREADS:-1 2}"
REPEATS="${REPEATS:-3}"
MODEL=models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
V=.bench-venv/bin/python
OUT=target/bench-models
mkdir -p "$OUT"

scripts/fetch-models.sh
bash bench/models/setup.sh
cargo build --release -q -p brain --example bench_models
B=target/release/examples/bench_models

$V bench/models/llama_cpp_bench.py --dump-prompt "$OUT/prompt.txt" >/dev/null
$V bench/models/onnx_embed_bench.py --dump-sentences "$OUT/sentences.txt" >/dev/null
: > "$OUT/results.jsonl"
for t in $THREADS; do
  echo "== $t thread(s) ==" >&2
  $V bench/models/llama_cpp_bench.py --model "$MODEL" --threads "$t" --repeats "$REPEATS" 2>/dev/null | tee -a "$OUT/results.jsonl"
  $B llm --threads "$t" --repeats "$REPEATS" --prompt-file "$OUT/prompt.txt" | tee -a "$OUT/results.jsonl"
  $B llm --threads "$t" --repeats 1 --gen-tokens 32 --backend candle --weights q8_0 --prompt-file "$OUT/prompt.txt" | tee -a "$OUT/results.jsonl"
  $V bench/models/onnx_embed_bench.py --threads "$t" --repeats "$REPEATS" 2>/dev/null | tee -a "$OUT/results.jsonl"
  $B embed --threads "$t" --repeats "$REPEATS" --sentences-file "$OUT/sentences.txt" | tee -a "$OUT/results.jsonl"
  $B embed --threads "$t" --repeats "$REPEATS" --backend candle --sentences-file "$OUT/sentences.txt" | tee -a "$OUT/results.jsonl"
done

python3 - "$OUT/results.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
by = {}
for r in rows:
    key = r["engine"] + ("/" + r["weights"] if r.get("weights") else "")
    by[(key, r["threads"])] = r
threads = sorted({r["threads"] for r in rows})
print("\nratios against the baseline, same machine, same inputs (above 1.0: Brain faster)")
for t in threads:
    base = by.get(("llama.cpp", t))
    for eng in ("brain-native/stored", "brain-candle/q8_0"):
        r = by.get((eng, t))
        if base and r:
            print(f"  {t} thread(s) {eng:<20} vs llama.cpp: prompt {r['prompt_tok_s']/base['prompt_tok_s']:.2f}x  "
                  f"generation {r['gen_tok_s']/base['gen_tok_s']:.2f}x  time-to-first-token {base['ttft_ms']/r['ttft_ms']:.2f}x  "
                  f"peak RSS {r['peak_rss_mb']:.0f} vs {base['peak_rss_mb']:.0f} MB")
    ob = by.get(("onnxruntime-int8", t))
    for eng in ("brain-native-int8", "brain-candle-f32"):
        br = by.get((eng, t))
        if ob and br:
            print(f"  {t} thread(s) MiniLM {eng:<18} vs ONNX Runtime int8: {br['sentences_per_s']/ob['sentences_per_s']:.2f}x sentences/s  "
                  f"peak RSS {br['peak_rss_mb']:.0f} vs {ob['peak_rss_mb']:.0f} MB")
PY
