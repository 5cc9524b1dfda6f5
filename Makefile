# Thin wrapper: dependencies, configure, build, test, demo. CMake does the work.
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
PACKAGE_BUILD ?= build-package
CMAKE_FLAGS ?=
ifeq ($(CI),true)
CMAKE_FLAGS += -DGANTRY_WERROR=ON
endif
JOBS ?= $(shell nproc)

.PHONY: all deps configure build test test-asan fuzz bench soak demo package format clean

all: build

deps:
	@bash packaging/deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

configure: deps $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600

# The same tests under AddressSanitizer and UBSan (CI runs this too). -O1 -g1 (line tables are
# all a sanitizer report needs) builds it in far less time than -O2 -g on 2 cores. Not the
# packaging tests (label packaging): they check packages, images and manifests, which
# `make test` builds from the plain binaries.
test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DGANTRY_SANITIZE=ON -DGANTRY_BENCH=OFF \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) --timeout 900 -LE packaging

# libFuzzer on the pipeline parser, built with clang. FUZZ_SECONDS=60 by default.
FUZZ_SECONDS ?= 60
fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DGANTRY_FUZZ=ON -DGANTRY_TESTS=OFF -DGANTRY_BENCH=OFF
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_parser
	bash fuzz/run.sh $(FUZZ_BUILD)/fuzz/fuzz_parser $(FUZZ_SECONDS)

# Builds what the benchmarks run (not the tests), runs every benchmark and
# prints one summary table (bench/README.md). BENCH_QUICK=1: a short run.
BENCH_TARGETS = gantry gantry-controller gantry-agent gantry-sim-agents bench_parse bench_groovy bench_fanout
bench: configure
	cmake --build $(BUILD) -j $(JOBS) --target $(BENCH_TARGETS)
	bash bench/run.sh $(BUILD)

# Soaks. First the fault suite (tests/fault/, docs/faults.md): every case
# FAULT_REPS=20 times in a row, each time with its own seed (printed; a
# failure replays with GANTRY_FAULT_SEED). Then the load soak (bench/soak.sh):
# 100 runs in flight over 20 agents, 200 event watchers for SOAK_SECONDS=600;
# checks results, logs, events, RSS.
FAULT_REPS ?= 20
soak: build
	cd $(BUILD) && ctest -L fault --repeat until-fail:$(FAULT_REPS) --output-on-failure -j $(JOBS) --timeout 900
	bash bench/soak.sh $(BUILD)

demo: build
	bash examples/demo.sh $(BUILD)

# The Debian packages gantry-controller, gantry-agent, gantry and their -dbgsym
# (docs/install.md), in $(PACKAGE_BUILD)/. -O2 -g as Debian builds (the debug
# information goes to the -dbgsym packages, zlib-compressed at link time: xz then
# has a quarter of the bytes to go through), with dpkg-buildflags' hardening.
# PACKAGE_WRAP runs before the build (a shared machine: PACKAGE_WRAP="flock /tmp/x.lock nice").
PACKAGE_WRAP ?=
PACKAGE_BUILDFLAGS = DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get
package: deps
	cmake -S . -B $(PACKAGE_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DGANTRY_TESTS=OFF -DGANTRY_BENCH=OFF -DGANTRY_WERROR=OFF \
	  -DCMAKE_CXX_FLAGS="$$($(PACKAGE_BUILDFLAGS) CPPFLAGS) $$($(PACKAGE_BUILDFLAGS) CXXFLAGS)" \
	  -DCMAKE_EXE_LINKER_FLAGS="$$($(PACKAGE_BUILDFLAGS) LDFLAGS) -Wl,--compress-debug-sections=zlib"
	$(PACKAGE_WRAP) cmake --build $(PACKAGE_BUILD) -j $(JOBS)
	cd $(PACKAGE_BUILD) && rm -f *.deb *.ddeb && cpack -G DEB
	@ls -l $(PACKAGE_BUILD)/*.deb $(PACKAGE_BUILD)/*.ddeb

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(PACKAGE_BUILD)
