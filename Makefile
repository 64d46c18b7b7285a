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

.PHONY: demo test rust-test c c-test header chat bench clean

demo:
	$(CARGO) run -q -p brain-cli -- --data-dir $(DATA_DIR) demo

test: rust-test c-test
	@awk '/^test result:/ { p += $$4; f += $$6 } /^[0-9]+ passed, [0-9]+ failed$$/ { p += $$1; f += $$3 } END { printf "tests: %d passed, %d failed\n", p, f }' target/test.log target/c/test.log

rust-test:
	@mkdir -p target
	$(CARGO) test --workspace 2>&1 | tee target/test.log
	$(CARGO) run -q -p brain-examples --example quickstart > /dev/null

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

chat:
	$(CARGO) run -q -p brain-cli -- --data-dir $(DATA_DIR) chat --tenant demo

# Turn latency over a 10k-document knowledge base, and the guardrails (not run in CI).
bench:
	$(CARGO) bench -p brain --bench turn
	$(CARGO) bench -p brain --bench guardrails

clean:
	rm -rf $(DATA_DIR) target/c
