# Mail2SMS: build, test, demo and deploy. `make help` lists the targets.
#
# The tools that come from PyPI (SAM CLI, cfn-lint, cargo-lambda with zig, moto) live in the
# git-ignored .venv, created and kept in step with requirements-dev.txt by the targets that need
# them. Only Rust, Python 3 (with venv) and make are needed beforehand.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

# The project's root, wherever make runs from (`sam build` runs `make build-Mail2SmsFunction`).
ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
PYTHON ?= python3
VENV := $(ROOT)/.venv
VENV_BIN := $(VENV)/bin
VENV_STAMP := $(VENV)/.requirements-dev.installed

# Cargo's target directory (target/, or CARGO_TARGET_DIR, or build.target-dir), asked once. The
# scripts get it too (the emulator session puts $(TARGET_DIR)/debug on PATH).
TARGET_DIR := $(shell cargo metadata --format-version 1 --no-deps --manifest-path $(ROOT)/Cargo.toml 2>/dev/null | \
    $(PYTHON) -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null)
ifeq ($(TARGET_DIR),)
TARGET_DIR := $(ROOT)/target
endif
export MAIL2SMS_TARGET_DIR := $(TARGET_DIR)

# The venv's tools come first (cargo-lambda finds zig there); SAM never phones home.
export PATH := $(VENV_BIN):$(PATH)
export SAM_CLI_TELEMETRY := 0

# The Lambda architecture to build for: x86_64 (the template's default) or arm64 (needs the
# aarch64-unknown-linux-gnu Rust target; deploy it with --parameter-overrides Architecture=arm64).
LAMBDA_ARCH ?= x86_64
ifeq ($(LAMBDA_ARCH),arm64)
CARGO_LAMBDA_TARGET := --arm64
LAMBDA_TRIPLE := aarch64-unknown-linux-gnu
else ifeq ($(LAMBDA_ARCH),x86_64)
CARGO_LAMBDA_TARGET := --x86-64
LAMBDA_TRIPLE := x86_64-unknown-linux-gnu
else
$(error LAMBDA_ARCH must be x86_64 or arm64, not '$(LAMBDA_ARCH)')
endif
# The release build: cargo lambda builds for the Lambda's target (zig linker, Lambda CPU flags)
# into $(TARGET_DIR)/$(LAMBDA_TRIPLE)/release; `make build` (and so `make measure`) and
# `make admin` share it, crate for crate.
LAMBDA_RELEASE_DIR := $(TARGET_DIR)/$(LAMBDA_TRIPLE)/release
BOOTSTRAP := $(TARGET_DIR)/lambda/mail2sms/bootstrap

# The deployed stack (samconfig.toml's stack_name) and the region for the lint/validate/aws steps
# that need one; a region already set in the environment wins.
STACK ?= mail2sms
REGION ?= $(or $(AWS_REGION),$(AWS_DEFAULT_REGION),eu-west-1)
LINT_ENV := AWS_DEFAULT_REGION=$(REGION) AWS_REGION=$(REGION)

# The event `make invoke-local` sends, and the raw email stored first in the emulator's inbound
# bucket under the event's SES message id (skipped when the file does not exist).
EVENT ?= events/ses-event.json
RAW ?= $(EVENT:.json=.eml)

# Extra arguments for `sam build` and `sam deploy` (e.g. --parameter-overrides Architecture=arm64).
SAM_ARGS ?=

.PHONY: help venv build build-Mail2SmsFunction build-WebFunction web-local admin demo test browser-test chromium lint lint-template sam-build bench measure \
        deploy activate stack-env invoke-local emulator-start emulator-env emulator-status emulator-stop \
        clean distclean

help: ## list the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([^:]+):.*## (.*)/  \1\t\2/' | expand -t 26

# ---------------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------------

venv: $(VENV_STAMP) ## create .venv with the pinned PyPI tools (again when requirements-dev.txt changes)

$(VENV_STAMP): $(ROOT)/requirements-dev.txt $(ROOT)/constraints.txt
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { \
	    echo "make: $(PYTHON) cannot create a virtualenv; install python3-venv (apt-get install python3-venv)" >&2; exit 1; }
	test -x $(VENV_BIN)/python || $(PYTHON) -m venv $(VENV)
	$(VENV_BIN)/python -m pip install --quiet --disable-pip-version-check -r $(ROOT)/requirements-dev.txt -c $(ROOT)/constraints.txt
	touch $@

# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------

build: $(VENV_STAMP) ## the release Lambda artifact, <target>/lambda/mail2sms/bootstrap (cargo lambda)
	cargo lambda build --manifest-path $(ROOT)/Cargo.toml --release $(CARGO_LAMBDA_TARGET) --bin mail2sms
	@ls -l $(BOOTSTRAP)

# On a host of the Lambda's own kind (x86_64 Linux for LAMBDA_ARCH=x86_64), the admin comes from
# the function's release build (only its own code is compiled; cargo lambda leaves it as
# lambda/mail2sms-admin/bootstrap, copied back under its name); elsewhere, a host release build.
admin: $(VENV_STAMP) ## the release mail2sms-admin, from the same release build as `make build`
	@if [ "$$(rustc -vV | sed -n 's/^host: //p')" = "$(LAMBDA_TRIPLE)" ]; then \
	    set -x; cargo lambda build --manifest-path $(ROOT)/Cargo.toml --release $(CARGO_LAMBDA_TARGET) --bin mail2sms-admin; \
	    cp -p $(TARGET_DIR)/lambda/mail2sms-admin/bootstrap $(LAMBDA_RELEASE_DIR)/mail2sms-admin; \
	    ls -l $(LAMBDA_RELEASE_DIR)/mail2sms-admin; \
	else \
	    set -x; cargo build --manifest-path $(ROOT)/Cargo.toml --release --bin mail2sms-admin; \
	    ls -l $(TARGET_DIR)/release/mail2sms-admin; \
	fi

build-Mail2SmsFunction: build ## what `sam build` runs: the bootstrap into $(ARTIFACTS_DIR)
	@test -n "$(ARTIFACTS_DIR)" || { echo "make: ARTIFACTS_DIR is not set (sam build sets it)" >&2; exit 1; }
	mkdir -p "$(ARTIFACTS_DIR)"
	cp $(BOOTSTRAP) "$(ARTIFACTS_DIR)/bootstrap"

# The customer space (issue #12): `sam build` runs this for WebFunction. The same release
# build as the function's (cargo lambda), its own binary.
build-WebFunction: $(VENV_STAMP) ## what `sam build` runs for the customer space: mail2sms-web's bootstrap into $(ARTIFACTS_DIR)
	@test -n "$(ARTIFACTS_DIR)" || { echo "make: ARTIFACTS_DIR is not set (sam build sets it)" >&2; exit 1; }
	cargo lambda build --manifest-path $(ROOT)/Cargo.toml --release $(CARGO_LAMBDA_TARGET) --bin mail2sms-web
	mkdir -p "$(ARTIFACTS_DIR)"
	cp $(TARGET_DIR)/lambda/mail2sms-web/bootstrap "$(ARTIFACTS_DIR)/bootstrap"

# The customer space on this machine, against the emulator session (make emulator-start):
# `eval "$$(make -s emulator-env)"` first; LISTEN_ADDR (default 127.0.0.1:8080).
web-local: ## serve the customer space on LISTEN_ADDR (default 127.0.0.1:8080) against the emulator session's tables
	cargo build --manifest-path $(ROOT)/Cargo.toml --bin mail2sms-web
	$(TARGET_DIR)/debug/mail2sms-web

sam-build: $(VENV_STAMP) ## `sam build` with the venv's SAM CLI (offline, no credentials): .aws-sam/build/
	$(LINT_ENV) sam build --build-in-source $(SAM_ARGS)
	@ls -l $(ROOT)/.aws-sam/build/Mail2SmsFunction/bootstrap

# ---------------------------------------------------------------------------------------------
# Demo and tests: one build profile (dev) for both, against a local moto server
# ---------------------------------------------------------------------------------------------

# Then the customer space, to log in to right after: the account `demo` (with a password and
# emails of every status) in the emulator session (started if none runs), and mail2sms-web in the
# background on LISTEN_ADDR (default 127.0.0.1:8080); `make emulator-stop` stops both
# (scripts/customer_space.py).
demo: $(VENV_STAMP) ## the real function on the sample emails, against a local AWS emulator, with a report; then the customer space, left running on the emulator session
	cargo build --bins
	scripts/with-moto.sh $(VENV_BIN)/python scripts/demo.py
	@session="$$($(ROOT)/scripts/emulator.sh start)" && eval "$$session" && \
	    $(VENV_BIN)/python $(ROOT)/scripts/customer_space.py session

# The fault tests (tests/it/recovery.rs) time calls out after a second: they run apart, one at a
# time, so that the other tests' load on the emulator (which serves one request at a time) is
# not taken for a fault.
test: $(VENV_STAMP) ## every test: cargo test against a local AWS emulator, then the template lint
	cargo build --bins
	scripts/with-moto.sh bash -c 'cargo test -- --skip recovery:: && cargo test --test it recovery:: -- --test-threads=1'
	$(MAKE) --no-print-directory lint-template

lint: $(VENV_STAMP) ## rustfmt, clippy (warnings are errors) and the template lint
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	$(MAKE) --no-print-directory lint-template

lint-template: $(VENV_STAMP) ## cfn-lint and `sam validate --lint` on template.yaml
	$(LINT_ENV) cfn-lint template.yaml
	$(LINT_ENV) sam validate --lint --template-file template.yaml

# The browser test (issue #12): Playwright from npm (pinned by tests/browser/package-lock.json,
# into the git-ignored tests/browser/node_modules, without a browser of its own: none can be
# downloaded here) drives Debian's Chromium, headless, through the customer space on a phone and
# on a desktop viewport, against a throwaway emulator (scripts/customer_space.py sets the accounts
# and their emails up and serves mail2sms-web). Screenshots in <target>/browser/.
BROWSER_DIR := $(ROOT)/tests/browser
BROWSER_STAMP := $(BROWSER_DIR)/node_modules/.package-lock.installed
CHROMIUM ?= /usr/bin/chromium

$(BROWSER_STAMP): $(BROWSER_DIR)/package.json $(BROWSER_DIR)/package-lock.json
	@node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null || { \
	    echo "make: the browser test needs Node.js 20 or later, with npm (node: $$(node --version 2>&1 || true))" >&2; exit 1; }
	cd $(BROWSER_DIR) && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
	touch $@

chromium: ## Debian's chromium for the browser test (CHROMIUM, default /usr/bin/chromium): apt-get install as root when missing
	@if [ -x "$(CHROMIUM)" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    set -x; export DEBIAN_FRONTEND=noninteractive; apt-get update -qq; \
	    apt-get install -y -qq --no-install-recommends chromium >/dev/null; "$(CHROMIUM)" --version; \
	else \
	    echo "make: the browser test needs Debian's Chromium at $(CHROMIUM): 'sudo apt-get install --no-install-recommends chromium'," >&2; \
	    echo "      or CHROMIUM=/path/to/chromium (Playwright's own browser download is not used)" >&2; exit 1; \
	fi

browser-test: $(VENV_STAMP) $(BROWSER_STAMP) chromium ## the customer space in headless Chromium, phone and desktop, against a local AWS emulator; screenshots in <target>/browser/
	cargo build --bins
	rm -rf $(TARGET_DIR)/browser
	scripts/with-moto.sh $(VENV_BIN)/python scripts/customer_space.py test \
	    env CHROMIUM=$(CHROMIUM) $(BROWSER_DIR)/node_modules/.bin/playwright test --config $(BROWSER_DIR)/playwright.config.mjs
	@ls $(TARGET_DIR)/browser/*.png | sed 's|^$(ROOT)/||'

measure: build ## the demo on the release Lambda artifact: cold-start init time and peak memory
	cargo build --bins
	MAIL2SMS_FUNCTION_BIN=$(BOOTSTRAP) scripts/with-moto.sh $(VENV_BIN)/python scripts/demo.py

# The in-process benchmarks of benches/pipeline.rs, then the release function end to end
# (scripts/bench.py, docs/performance.md): the Lambda artifact of `make build` behind a local
# Runtime API, against a throwaway emulator through a counting proxy. It prints init, first call, warm wall and process CPU per email, AWS calls per email by
# kind and peak RSS by email size, and fails when a budget is exceeded. BENCH_ARGS passes options
# on (`--emails 500`, `--perf FILE` for a profile of the warm emails; `--help` lists them).
BENCH_ARGS ?=
bench: build ## the benchmarks: the pipeline's CPU per step (benches/pipeline.rs), then the release function end to end against a local emulator, its budgets checked (scripts/bench.py), then large lists (benches/fan_out.rs)
	cargo bench --manifest-path $(ROOT)/Cargo.toml --bench pipeline
	cargo build --manifest-path $(ROOT)/Cargo.toml --bin mail2sms-admin
	$(ROOT)/scripts/with-moto.sh $(VENV_BIN)/python $(ROOT)/scripts/bench.py --function $(BOOTSTRAP) $(BENCH_ARGS)
	$(ROOT)/scripts/with-moto.sh cargo bench --manifest-path $(ROOT)/Cargo.toml --bench fan_out

# ---------------------------------------------------------------------------------------------
# The local emulator session: one moto in the background, with the tables, that the CLI,
# `make invoke-local` and boto3 share (scripts/emulator.sh; its state is in .demo/emulator/)
# ---------------------------------------------------------------------------------------------

emulator-start: $(VENV_STAMP) ## start the local AWS emulator session (moto + tables, bucket, schedule group) in the background
	@cargo build --manifest-path $(ROOT)/Cargo.toml --bins
	@$(ROOT)/scripts/emulator.sh start

emulator-env: ## the session's `export` lines (endpoint, dummy credentials, tables), for: eval "$(make -s emulator-env)"
	@$(ROOT)/scripts/emulator.sh env

emulator-status: ## whether the emulator session runs, and where
	@$(ROOT)/scripts/emulator.sh status || true

emulator-stop: ## stop the emulator session and remove its state
	@$(ROOT)/scripts/emulator.sh stop

# Docker-free local invocation (`sam local invoke` needs Docker): the function under
# `cargo lambda watch`, with events/env.json's settings, against the emulator session.
invoke-local: $(VENV_STAMP) ## run the function once on $(EVENT) against the emulator session (started if none runs)
	cargo build --manifest-path $(ROOT)/Cargo.toml --bins
	$(ROOT)/scripts/invoke-local.sh "$(EVENT)" "$(RAW)"

# ---------------------------------------------------------------------------------------------
# Deploy (needs AWS credentials), with the venv's SAM CLI
# ---------------------------------------------------------------------------------------------

# Guided (it asks for the stack's parameters and saves them in samconfig.toml) until
# samconfig.toml holds them, or with GUIDED=1.
deploy: sam-build ## sam build, then sam deploy (--guided the first time: until samconfig.toml has the parameters)
	@if [ -n "$(GUIDED)" ] || ! grep -q '^parameter_overrides' $(ROOT)/samconfig.toml; then \
	    set -x; sam deploy --guided $(SAM_ARGS); else set -x; sam deploy $(SAM_ARGS); fi

# Reads the rule set's name and the SNS delivery-status role from the stack's outputs. Both
# settings are the account's (per region), not the stack's: each line says what it replaced.
# Needs the AWS CLI (`aws`).
activate: ## activate the stack's SES receipt rule set and set SNS's account-wide SMS delivery-status role and sampling (replaces both!)
	@command -v aws >/dev/null || { echo "make: activate needs the AWS CLI (aws)" >&2; exit 1; }
	@output() { aws cloudformation describe-stacks --region $(REGION) --stack-name $(STACK) \
	    --query "Stacks[0].Outputs[?OutputKey=='$$1'].OutputValue" --output text; }; \
	rule_set="$$(output ReceiptRuleSetName)"; \
	role="$$(output SnsDeliveryStatusRoleArn)"; \
	if [ -z "$$role" ] || [ "$$role" = "None" ]; then \
	    echo "make: the stack $(STACK) has no SnsDeliveryStatusRoleArn output: deploy the current template first" >&2; exit 1; fi; \
	active="$$(aws ses describe-active-receipt-rule-set --region $(REGION) --query Metadata.Name --output text 2>/dev/null || true)"; \
	if [ -n "$$active" ] && [ "$$active" != "None" ] && [ "$$active" != "$$rule_set" ]; then \
	    echo "Replacing the active receipt rule set '$$active' in $(REGION) with '$$rule_set'."; fi; \
	aws ses set-active-receipt-rule-set --region $(REGION) --rule-set-name "$$rule_set"; \
	echo "Active receipt rule set in $(REGION): $$rule_set"; \
	read -r old_role old_rate < <(aws sns get-sms-attributes --region $(REGION) \
	    --attributes DeliveryStatusIAMRole DeliveryStatusSuccessSamplingRate \
	    --query "[attributes.DeliveryStatusIAMRole, attributes.DeliveryStatusSuccessSamplingRate]" --output text); \
	aws sns set-sms-attributes --region $(REGION) \
	    --attributes "{\"DeliveryStatusIAMRole\": \"$$role\", \"DeliveryStatusSuccessSamplingRate\": \"100\"}"; \
	echo "SNS SMS DeliveryStatusIAMRole in $(REGION): $${old_role/#None/(none)} -> $$role"; \
	echo "SNS SMS DeliveryStatusSuccessSamplingRate in $(REGION): $${old_rate/#None/(none)} -> 100"

stack-env: ## print `export` lines (tables, bucket, ...) from the stack's outputs, for mail2sms-admin
	@command -v aws >/dev/null || { echo "make: stack-env needs the AWS CLI (aws)" >&2; exit 1; }
	@aws cloudformation describe-stacks --region $(REGION) --stack-name $(STACK) \
	    --query "Stacks[0].Outputs[].[OutputKey,OutputValue]" --output text | \
	while read -r key value; do case "$$key" in \
	    AccountsTableName) echo "export ACCOUNTS_TABLE=$$value" ;; \
	    MessagesTableName) echo "export MESSAGES_TABLE=$$value" ;; \
	    OptOutsTableName) echo "export OPT_OUTS_TABLE=$$value" ;; \
	    ContactListsTableName) echo "export CONTACT_LISTS_TABLE=$$value" ;; \
	    InboundBucketName) echo "export INBOUND_BUCKET=$$value" ;; \
	    ScheduleGroupName) echo "export SCHEDULE_GROUP=$$value" ;; \
	    SchedulerRoleArn) echo "export SCHEDULER_ROLE_ARN=$$value" ;; \
	    ScheduleDlqArn) echo "export SCHEDULE_DLQ_ARN=$$value" ;; \
	esac; done; echo "export AWS_REGION=$(REGION)"

# ---------------------------------------------------------------------------------------------

clean: ## remove build outputs (target/, .aws-sam/); keeps .venv
	cargo clean
	rm -rf $(ROOT)/.aws-sam

distclean: clean ## clean, and remove .venv too (stops the emulator session first)
	$(ROOT)/scripts/emulator.sh stop
	rm -rf $(VENV)
