# Packyard build glue for `sam build` (BuildMethod: makefile) and a few conveniences.
#
# SAM runs `make build-<LogicalId>` once per function, each time in a new make process, with
# ARTIFACTS_DIR set to where that function's `bootstrap` must land. Every build-XFunction target
# depends on `lambda-binaries`, ONE cargo invocation that builds every function crate, so:
#   - a single `make build-RegistriesFunction build-TokensFunction ...` compiles once;
#   - across SAM's separate make processes, the first one compiles and the others find cargo's
#     fingerprints fresh and finish in about a second.
# There is deliberately no stamp file: a stamp that skips cargo would ship stale binaries after an
# edit unless it tracked every source, build script and feature the way cargo already does.
#
# Use `sam build --build-in-source` (samconfig.toml sets build_in_source = true). Without it SAM
# copies the whole repository, ./target included, into a scratch directory per function and
# builds there, so nothing is reused and every function pays for a full release build.

CARGO_LAMBDA ?= cargo lambda
# cargo lambda writes <target dir>/lambda/<binary>/bootstrap and honours CARGO_TARGET_DIR.
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
# Every crate under functions/ is a Lambda binary named after its directory.
FUNCTION_CRATES := $(notdir $(patsubst %/,%,$(dir $(wildcard functions/*/Cargo.toml))))

.PHONY: build lambda-binaries deploy lint \
	build-RegistriesFunction build-AuditEventsFunction build-TokensFunction build-PackagesFunction \
	build-NpmFunction build-CargoFunction build-PypiFunction build-HousekeepingFunction \
	build-StorageLinksFunction build-LinkTemplateFunction build-OciFunction build-RubyFunction build-ConsoleFunction \
	build-MavenFunction \
	build-DebianFunction build-RpmFunction

## build: cross-compile every function for arm64 Lambda (target/lambda/<name>/bootstrap)
build: lambda-binaries

# A panic aborts a function's process rather than unwinding (Lambda starts a new one, and the request fails either
# way): without unwinding tables every function is about a megabyte smaller (benchmarks/functions.md). Only here:
# the long-running server (`packyard serve`, the transfer service) keeps unwinding, so one panicking request
# does not take the others down with it.
lambda-binaries:
	CARGO_PROFILE_RELEASE_PANIC=abort $(CARGO_LAMBDA) build --release --arm64 $(addprefix -p ,$(FUNCTION_CRATES))

# One line per AWS::Serverless::Function in template.yaml: logical id -> binary name.
build-RegistriesFunction: BIN := registries
build-AuditEventsFunction: BIN := audit-events
build-TokensFunction: BIN := tokens
build-PackagesFunction: BIN := packages
build-NpmFunction: BIN := npm
build-CargoFunction: BIN := cargo
build-PypiFunction: BIN := pypi
build-HousekeepingFunction: BIN := housekeeping
build-StorageLinksFunction: BIN := storage-links
build-LinkTemplateFunction: BIN := link-template
build-OciFunction: BIN := oci
build-RubyFunction: BIN := ruby
build-MavenFunction: BIN := maven
build-DebianFunction: BIN := debian
build-RpmFunction: BIN := rpm
build-ConsoleFunction: BIN := console

build-RegistriesFunction build-AuditEventsFunction build-TokensFunction build-PackagesFunction \
build-NpmFunction build-CargoFunction build-PypiFunction build-HousekeepingFunction build-StorageLinksFunction \
build-LinkTemplateFunction build-OciFunction build-RubyFunction build-ConsoleFunction \
build-MavenFunction build-DebianFunction build-RpmFunction: lambda-binaries
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set: run this through sam build" >&2; exit 1; }
	mkdir -p "$(ARTIFACTS_DIR)"
	install -m 0755 "$(TARGET_DIR)/lambda/$(BIN)/bootstrap" "$(ARTIFACTS_DIR)/bootstrap"

## deploy: build with SAM and deploy (add --guided the first time to review the settings)
deploy:
	sam build
	sam deploy

## lint: check the CloudFormation templates
lint:
	cfn-lint template.yaml $(wildcard cloudformation/*.yaml)
