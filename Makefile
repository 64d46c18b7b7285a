# Brain — the two commands that matter on a fresh machine:
#   make demo   run the scripted demo on the embedded default (party-supplies vertical, Astra)
#   make test   build everything and run every test (Rust unit, integration, doc, CLI, examples,
#               the C ABI under AddressSanitizer + UBSan, the C++ include check, header drift)

CARGO ?= cargo
CC ?= gcc
CXX ?= g++
DATA_DIR ?= brain-data
TOOLS := $(CURDIR)/.tools
CBINDGEN := $(TOOLS)/bin/cbindgen
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
CDIR := $(CURDIR)/target/c
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
SHELL := bash
.SHELLFLAGS := -eo pipefail -c

VENV := $(CURDIR)/.venv
PY := $(VENV)/bin/python

.PHONY: demo test rust-test c c-test py-test wheel header chat bench bench-models eval-models models fuzz clean

demo:
	$(CARGO) run -q -p brain-cli -- --data-dir $(DATA_DIR) demo

test: rust-test c-test py-test
	@awk '/^test result:/ { p += $$4; f += $$6 } /^[0-9]+ passed, [0-9]+ failed$$/ { p += $$1; f += $$3 } /^[0-9]+ passed( in|,)/ { p += $$1 } / [0-9]+ failed/ && /passed/ && !/^test result/ && !/^[0-9]+ passed, [0-9]+ failed$$/ { for (i = 1; i < NF; i++) if ($$(i+1) ~ /^failed/) f += $$i } END { printf "tests: %d passed, %d failed\n", p, f }' target/test.log target/c/test.log target/py-test.log

# The default local models (SmolLM2-135M-Instruct Q4_1, all-MiniLM-L6-v2) into models/, once.
models:
	scripts/fetch-models.sh

rust-test: models
	@mkdir -p target
	$(CARGO) test --workspace 2>&1 | tee target/test.log
	# `cargo test` built the example with the workspace's features: run that binary.
	$(TARGET_DIR)/debug/examples/quickstart > /dev/null

# cbindgen, pinned, installed into .tools/ once.
$(CBINDGEN):
	$(CARGO) install cbindgen --locked --version 0.29.4 --root $(TOOLS)

# Regenerate include/brain.h after changing ffi/src.
header: $(CBINDGEN)
	$(CBINDGEN) --quiet --config ffi/cbindgen.toml --crate brain-ffi --output include/brain.h ffi

# libbrain.so / libbrain.a + include/brain.h + brain.pc under target/c.
c:
	$(CARGO) build -p brain-ffi
	@mkdir -p $(CDIR)/lib/pkgconfig $(CDIR)/include
	cp $(TARGET_DIR)/debug/libbrain_ffi.so $(CDIR)/lib/libbrain.so.0
	ln -sf libbrain.so.0 $(CDIR)/lib/libbrain.so
	cp $(TARGET_DIR)/debug/libbrain_ffi.a $(CDIR)/lib/libbrain.a
	cp include/brain.h $(CDIR)/include/brain.h
	sed -e 's|@PREFIX@|$(CDIR)|' -e 's|@VERSION@|$(VERSION)|' ffi/brain.pc.in > $(CDIR)/lib/pkgconfig/brain.pc

c-test: c $(CBINDGEN)
	@mkdir -p $(CDIR)
	# The committed header must be what cbindgen generates now.
	$(CBINDGEN) --quiet --config ffi/cbindgen.toml --crate brain-ffi --output $(CDIR)/brain.h.fresh ffi
	diff -u include/brain.h $(CDIR)/brain.h.fresh || { echo "include/brain.h is stale: run make header"; exit 1; }
	$(CC) -std=c99 -Wall -Wextra -Werror -pedantic -g -fsanitize=address,undefined -fno-omit-frame-pointer \
		-I$(CDIR)/include tests/c/smoke.c -L$(CDIR)/lib -lbrain -lpthread -Wl,-rpath,$(CDIR)/lib -o $(CDIR)/smoke
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 $(CDIR)/smoke 2>&1 | tee $(CDIR)/test.log
	$(CXX) -std=c++17 -Wall -Wextra -Werror -pedantic -I$(CDIR)/include tests/c/double_include.cc \
		-L$(CDIR)/lib -lbrain -Wl,-rpath,$(CDIR)/lib -o $(CDIR)/double_include
	$(CDIR)/double_include
	$(MAKE) -s -C examples/c BRAIN=$(CDIR) run > $(CDIR)/quickstart.out
	grep -q '"tools_called":\["commerce.recommend_products"\]' $(CDIR)/quickstart.out
	PKG_CONFIG_PATH=$(CDIR)/lib/pkgconfig $(CC) -std=c99 $$(pkg-config --cflags brain 2>/dev/null || echo -I$(CDIR)/include) \
		examples/c/quickstart.c -o $(CDIR)/quickstart_static $(CDIR)/lib/libbrain.a -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
	$(CDIR)/quickstart_static | grep -q 'Mystical Unicorn Bundle'

# Python: a virtualenv with maturin, pytest and mypy; `pip install ./python` builds the module.
$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "maturin>=1.16,<2" pytest mypy

py-test: $(PY)
	@mkdir -p target
	$(PY) -m pip install -q ./python
	$(PY) -m pytest -q python/tests 2>&1 | tee target/py-test.log
	$(PY) -m mypy.stubtest brain._native
	$(PY) examples/python/quickstart.py > /dev/null

# One abi3 wheel for CPython 3.9+, in target/wheels/.
wheel: $(PY)
	$(PY) -m maturin build --release -m python/Cargo.toml

chat:
	$(CARGO) run -q -p brain-cli -- --data-dir $(DATA_DIR) chat --tenant demo

# Turn latency over a 10k-document knowledge base, and the guardrails (not run in CI).
bench:
	$(CARGO) bench -p brain --bench turn
	$(CARGO) bench -p brain --bench guardrails

# Local models against llama.cpp and ONNX Runtime, side by side (builds llama.cpp once, ~16 min).
bench-models: models
	bash bench/models/run.sh

# Where local models help, measured on the labelled sets (minutes; not in CI).
eval-models: models
	$(CARGO) run --release -p brain --example eval_models

# Fuzz the webhook parsers with cargo fuzz (libFuzzer), FUZZ_SECONDS per target (not run in CI).
FUZZ_SECONDS ?= 60
$(TOOLS)/bin/cargo-fuzz:
	$(CARGO) install cargo-fuzz --locked --root $(TOOLS)

fuzz: $(TOOLS)/bin/cargo-fuzz
	for t in meta_parse sns_message email; do \
		RUSTC_BOOTSTRAP=1 $(TOOLS)/bin/cargo-fuzz run --fuzz-dir fuzz $$t -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

clean:
	rm -rf $(DATA_DIR) target/c
