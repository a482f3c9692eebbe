# flowex front door. `make up` runs the exchange; `make test` runs every test.
BUILD      ?= build
BUILD_TYPE ?= RelWithDebInfo
SANITIZE   ?=
JOBS       ?= $(shell nproc)
CMAKE_FLAGS = -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DFLOWEX_SANITIZE=$(SANITIZE)

.PHONY: up test build bench fmt lint clean bootstrap configure help

help:
	@echo "make up        bootstrap, build, start the whole stack (Ctrl-C stops it)"
	@echo "make test      bootstrap, build, run every test (unit, integration, browser)"
	@echo "make build     configure and build into $(BUILD)/ (executables in $(BUILD)/bin)"
	@echo "make bench     run the benchmarks (results: docs/benchmarks.md)"
	@echo "make fmt       clang-format the C++ sources"
	@echo "make lint      clang-format check + clang-tidy"
	@echo "make clean     remove $(BUILD)/"
	@echo "variables: BUILD=$(BUILD) BUILD_TYPE=$(BUILD_TYPE) SANITIZE=address|undefined|thread"

bootstrap:
	@scripts/bootstrap

configure: bootstrap
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) > $(BUILD).configure.log 2>&1 || (cat $(BUILD).configure.log; exit 1)
	@rm -f $(BUILD).configure.log

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure --timeout 900 -j $(JOBS)

up: build
	@scripts/up --build-dir $(BUILD)

bench: build
	@scripts/bootstrap --bench
	@bench/run-all.sh $(BUILD)

fmt:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

lint: configure
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run --Werror
	@git ls-files 'libs/*.cpp' 'services/*.cpp' 'collector/*.cpp' 'tools/*.cpp' | \
	  xargs -r clang-tidy -p $(BUILD) --quiet

clean:
	@rm -rf $(BUILD)
