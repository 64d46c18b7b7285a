# Brain — the two commands that matter on a fresh machine:
#   make demo   run the scripted demo on the embedded default (party-supplies vertical, Astra)
#   make test   build everything and run every test (Rust unit, integration, doc, CLI, examples)

CARGO ?= cargo
DATA_DIR ?= brain-data
SHELL := bash
.SHELLFLAGS := -eo pipefail -c

.PHONY: demo test chat bench clean

demo:
	$(CARGO) run -q -p brain-cli -- --data-dir $(DATA_DIR) demo

test:
	@mkdir -p target
	$(CARGO) test --workspace 2>&1 | tee target/test.log
	$(CARGO) run -q -p brain-examples --example quickstart > /dev/null
	@awk '/^test result:/ { p += $$4; f += $$6 } END { printf "tests: %d passed, %d failed\n", p, f }' target/test.log

chat:
	$(CARGO) run -q -p brain-cli -- --data-dir $(DATA_DIR) chat --tenant demo

# Turn latency over a 10k-document knowledge base (not run in CI).
bench:
	$(CARGO) bench -p brain --bench turn

clean:
	rm -rf $(DATA_DIR)
