# WorkflowPilot orchestration: components, host and tests.
# `make demo` and `make test` work on a fresh machine: missing toolchain
# pieces are installed by scripts/install-toolchain.sh.

CARGO ?= cargo

.PHONY: demo test lint bench components pilot toolchain check-components clean-demo

## Build everything and run an example workflow on the embedded defaults.
demo: components pilot
	scripts/demo.sh

# Handler crates are cdylib guests: their logic is unit-tested natively per package.
HANDLER_PACKAGES := $(foreach h,$(notdir $(wildcard handlers/*)),-p $(h)-handler)

## The whole test suite: formatting and lints, unit, component and end-to-end tests.
test: lint components pilot
	$(CARGO) test --release
	$(CARGO) test --release --lib $(HANDLER_PACKAGES)

## rustfmt (rustfmt.toml) and clippy with warnings as errors, over every crate.
# (rustup's default profile has both; a toolchain without them says so and skips them.)
lint:
	@if $(CARGO) fmt --version >/dev/null 2>&1; then $(CARGO) fmt --all --check; else echo "rustfmt not installed: format check skipped" >&2; fi
	@if $(CARGO) clippy --version >/dev/null 2>&1; then $(CARGO) clippy --release --workspace --all-targets -- -D warnings; else echo "clippy not installed: lints skipped" >&2; fi

## The figures of the README's performance section: through the components
## (one workflow at a time, then the serve path) and the orchestrator natively.
bench: components pilot
	target/release/pilot bench --runs 300
	target/release/pilot bench --runs 300 --concurrency 50
	$(CARGO) bench -p orchestration --bench session

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
