# WorkflowPilot orchestration: components, host and tests.
# `make demo` and `make test` work on a fresh machine: missing toolchain
# pieces are installed by scripts/install-toolchain.sh.

CARGO ?= cargo

.PHONY: demo test components pilot toolchain check-components clean-demo

## Build everything and run an example workflow on the embedded defaults.
demo: components pilot
	scripts/demo.sh

# Handler crates are cdylib guests: their logic is unit-tested natively per package.
HANDLER_PACKAGES := $(foreach h,$(notdir $(wildcard handlers/*)),-p $(h)-handler)

## The whole test suite: unit, component and end-to-end tests.
test: components pilot
	$(CARGO) test --release
	$(CARGO) test --release --lib $(HANDLER_PACKAGES)

## Guest components (orchestrator, handlers, test guests) into target/components/.
components:
	scripts/build-components.sh

## The `pilot` CLI, at target/release/pilot.
pilot:
	$(CARGO) build --release

## Debian packages the guest build needs when rustup has no wasm32-wasip2 target.
toolchain:
	scripts/install-toolchain.sh

## Validate every component and print its world (needs `cargo install wasm-tools`).
check-components: components
	scripts/check-components.sh
