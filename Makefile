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

# The venv's tools come first (cargo-lambda finds zig there); SAM never phones home.
export PATH := $(VENV_BIN):$(PATH)
export SAM_CLI_TELEMETRY := 0

# The Lambda architecture to build for: x86_64 (the template's default) or arm64 (needs the
# aarch64-unknown-linux-gnu Rust target; deploy it with --parameter-overrides Architecture=arm64).
LAMBDA_ARCH ?= x86_64
ifeq ($(LAMBDA_ARCH),arm64)
CARGO_LAMBDA_TARGET := --arm64
else ifeq ($(LAMBDA_ARCH),x86_64)
CARGO_LAMBDA_TARGET := --x86-64
else
$(error LAMBDA_ARCH must be x86_64 or arm64, not '$(LAMBDA_ARCH)')
endif
BOOTSTRAP := $(ROOT)/target/lambda/mail2sms/bootstrap

# The deployed stack (samconfig.toml's stack_name) and the region for the lint/validate/aws steps
# that need one; a region already set in the environment wins.
STACK ?= mail2sms
REGION ?= $(or $(AWS_REGION),$(AWS_DEFAULT_REGION),eu-west-1)
LINT_ENV := AWS_DEFAULT_REGION=$(REGION) AWS_REGION=$(REGION)

# The event `make invoke-local` sends, and the raw email stored first in the emulator's inbound
# bucket under the event's SES message id (skipped when the file does not exist).
EVENT ?= events/ses-event.json
RAW ?= $(EVENT:.json=.eml)

.PHONY: help venv build build-Mail2SmsFunction demo test lint lint-template sam-build bench measure \
        deploy activate stack-env invoke-local clean distclean

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

build: $(VENV_STAMP) ## the release Lambda artifact, target/lambda/mail2sms/bootstrap (cargo lambda)
	cargo lambda build --manifest-path $(ROOT)/Cargo.toml --release $(CARGO_LAMBDA_TARGET) --bin mail2sms
	@ls -l $(BOOTSTRAP)

build-Mail2SmsFunction: build ## what `sam build` runs: the bootstrap into $(ARTIFACTS_DIR)
	@test -n "$(ARTIFACTS_DIR)" || { echo "make: ARTIFACTS_DIR is not set (sam build sets it)" >&2; exit 1; }
	mkdir -p "$(ARTIFACTS_DIR)"
	cp $(BOOTSTRAP) "$(ARTIFACTS_DIR)/bootstrap"

sam-build: $(VENV_STAMP) ## `sam build` (offline, no credentials): .aws-sam/build/Mail2SmsFunction/bootstrap
	$(LINT_ENV) sam build --build-in-source
	@ls -l $(ROOT)/.aws-sam/build/Mail2SmsFunction/bootstrap

# ---------------------------------------------------------------------------------------------
# Demo and tests: one build profile (dev) for both, against a local moto server
# ---------------------------------------------------------------------------------------------

demo: $(VENV_STAMP) ## the real function on the sample emails, against a local AWS emulator, with a report
	cargo build --bins
	scripts/with-moto.sh $(VENV_BIN)/python scripts/demo.py

test: $(VENV_STAMP) ## every test: cargo test against a local AWS emulator, then the template lint
	cargo build --bins
	scripts/with-moto.sh cargo test
	$(MAKE) --no-print-directory lint-template

lint: $(VENV_STAMP) ## rustfmt, clippy (warnings are errors) and the template lint
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	$(MAKE) --no-print-directory lint-template

lint-template: $(VENV_STAMP) ## cfn-lint and `sam validate --lint` on template.yaml
	$(LINT_ENV) cfn-lint template.yaml
	$(LINT_ENV) sam validate --lint --template-file template.yaml

measure: build ## the demo on the release Lambda artifact: cold-start init time and peak memory
	cargo build --bins
	MAIL2SMS_FUNCTION_BIN=$(BOOTSTRAP) scripts/with-moto.sh $(VENV_BIN)/python scripts/demo.py

bench: ## cargo bench (benches/)
	cargo bench

# Docker-free local invocation: `sam local invoke` needs Docker. This runs the function under
# `cargo lambda watch` (the Lambda runtime API on 127.0.0.1) with events/env.json's settings,
# against moto, bootstraps the tables, stores the event's raw email and invokes it once.
define INVOKE_LOCAL
set -euo pipefail
test -f "$$EVENT" || { echo "invoke-local: no event file $$EVENT (EVENT=events/<x>.json)" >&2; exit 2; }
eval "$$(python3 -c 'import json, shlex
for k, v in json.load(open("events/env.json"))["Mail2SmsFunction"].items():
    if k != "AWS_ENDPOINT_URL":  # with-moto.sh sets the real one
        print(f"export {k}={shlex.quote(v)}")')"
target/debug/mail2sms-admin bootstrap
# The sample emails say {{KEY}} where the API key goes: an account is created for them.
export API_KEY="$$(target/debug/mail2sms-admin account create boutique --credits 10 --sender BOUTIQUE)"
echo "account boutique created (10 credits)"
raw="$$RAW"
if [ -f "$$raw" ]; then
    $(VENV_BIN)/python -c 'import boto3, json, os, sys
record = json.load(open(sys.argv[1]))["Records"][0]
if "ses" in record:
    key = os.environ["INBOUND_PREFIX"] + record["ses"]["mail"]["messageId"]
else:
    key = record["s3"]["object"]["key"]
bucket = os.environ["INBOUND_BUCKET"]
body = open(sys.argv[2], "rb").read().replace(b"{{KEY}}", os.environ["API_KEY"].encode())
boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=body)
print(f"stored {sys.argv[2]} as s3://{bucket}/{key}")' "$$EVENT" "$$raw"
fi
port="$$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cargo lambda watch --ignore-changes --invoke-address 127.0.0.1 --invoke-port "$$port" >target/lambda-watch.log 2>&1 &
watch_pid=$$!
trap 'kill $$watch_pid 2>/dev/null || true; wait $$watch_pid 2>/dev/null || true' EXIT
for _ in $$(seq 1 600); do
    python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$$port" 2>/dev/null && break
    kill -0 $$watch_pid 2>/dev/null || { echo "invoke-local: cargo lambda watch exited; see target/lambda-watch.log" >&2; exit 1; }
    sleep 0.5
done
cargo lambda invoke mail2sms --invoke-address 127.0.0.1 --invoke-port "$$port" --data-file "$$EVENT"
echo
echo "(the function's log: target/lambda-watch.log)"
endef
export INVOKE_LOCAL
export EVENT RAW

invoke-local: $(VENV_STAMP) ## run the function once on $(EVENT) via cargo lambda watch + invoke, against moto
	cargo build --bins
	scripts/with-moto.sh bash -c "$$INVOKE_LOCAL"

# ---------------------------------------------------------------------------------------------
# Deploy (needs AWS credentials; the first time, run `sam deploy --guided` instead)
# ---------------------------------------------------------------------------------------------

deploy: sam-build ## sam build, then sam deploy with samconfig.toml's settings
	sam deploy

# Reads the rule set's name from the stack's outputs. Needs the AWS CLI (`aws`).
activate: ## make the stack's SES receipt rule set the active one (replaces the active one!)
	@command -v aws >/dev/null || { echo "make: activate needs the AWS CLI (aws)" >&2; exit 1; }
	@rule_set="$$(aws cloudformation describe-stacks --region $(REGION) --stack-name $(STACK) \
	    --query "Stacks[0].Outputs[?OutputKey=='ReceiptRuleSetName'].OutputValue" --output text)"; \
	active="$$(aws ses describe-active-receipt-rule-set --region $(REGION) --query Metadata.Name --output text 2>/dev/null || true)"; \
	if [ -n "$$active" ] && [ "$$active" != "None" ] && [ "$$active" != "$$rule_set" ]; then \
	    echo "Replacing the active receipt rule set '$$active' in $(REGION) with '$$rule_set'."; fi; \
	aws ses set-active-receipt-rule-set --region $(REGION) --rule-set-name "$$rule_set"; \
	echo "Active receipt rule set in $(REGION): $$rule_set"

stack-env: ## print `export` lines (tables, bucket, ...) from the stack's outputs, for mail2sms-admin
	@command -v aws >/dev/null || { echo "make: stack-env needs the AWS CLI (aws)" >&2; exit 1; }
	@aws cloudformation describe-stacks --region $(REGION) --stack-name $(STACK) \
	    --query "Stacks[0].Outputs[].[OutputKey,OutputValue]" --output text | \
	while read -r key value; do case "$$key" in \
	    AccountsTableName) echo "export ACCOUNTS_TABLE=$$value" ;; \
	    MessagesTableName) echo "export MESSAGES_TABLE=$$value" ;; \
	    InboundBucketName) echo "export INBOUND_BUCKET=$$value" ;; \
	    ScheduleGroupName) echo "export SCHEDULE_GROUP=$$value" ;; \
	    SchedulerRoleArn) echo "export SCHEDULER_ROLE_ARN=$$value" ;; \
	    ScheduleDlqArn) echo "export SCHEDULE_DLQ_ARN=$$value" ;; \
	esac; done; echo "export AWS_REGION=$(REGION)"

# ---------------------------------------------------------------------------------------------

clean: ## remove build outputs (target/, .aws-sam/); keeps .venv
	cargo clean
	rm -rf $(ROOT)/.aws-sam

distclean: clean ## clean, and remove .venv too
	rm -rf $(VENV)
