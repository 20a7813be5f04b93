# SPDX-License-Identifier: MIT
# Thin wrapper over CMake: the user commands.  Every target first makes sure
# the Debian packages are present (scripts/install-deps.sh is silent when
# they are).
#   make run        build and boot the default guest
#   make test       build and run the whole test suite (ctest)
#   make test-asan  the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make test-tsan  the concurrency tests under ThreadSanitizer
#   make bench      benchmarks (not tests)
IXVM_CC  ?= clang
JOBS     ?= $(shell nproc)
CMAKE_FLAGS ?=
RUN_ARGS ?=

.PHONY: all deps build run test test-asan test-tsan bench clean

all: build

deps:
	@sh scripts/install-deps.sh

define configure_build
	@cmake -S . -B $(1) -DCMAKE_C_COMPILER=$(IXVM_CC) $(2) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(1) -j $(JOBS)
endef

build: deps
	$(call configure_build,build,-DCMAKE_BUILD_TYPE=RelWithDebInfo)

# The demo disk (roms/demo) in a window when $$DISPLAY is set, else headless
# with COM1 on the terminal (Ctrl-A x quits).
run: build
	./build/ixvm $(if $(RUN_ARGS),$(RUN_ARGS),build/demo.img)

test: build
	cd build && ctest --output-on-failure -j $(JOBS) -LE soak

test-asan: deps
	$(call configure_build,build-asan,-DCMAKE_BUILD_TYPE=Debug -DIXVM_SANITIZE=address$(comma)undefined)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
		ctest --output-on-failure -j $(JOBS) -LE 'soak|noasan'

test-tsan: deps
	$(call configure_build,build-tsan,-DCMAKE_BUILD_TYPE=RelWithDebInfo -DIXVM_SANITIZE=thread)
	cd build-tsan && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -j $(JOBS) -L tsan

bench: build
	@if [ -x build/bench/run-bench.sh ] || [ -f bench/run-bench.sh ]; then sh bench/run-bench.sh build; \
	else ./build/bench/ixvm-bench-core; fi

clean:
	rm -rf build build-asan build-tsan

comma := ,
