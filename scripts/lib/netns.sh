#!/usr/bin/env bash
# The part of scripts/test that runs inside a private network namespace: brings up its loopback, starts DynamoDB
# Local, s3s-fs and moto on free loopback ports, hands their addresses to the tests in PACKYARD_TEST_* variables, and
# runs `cargo test --workspace --offline` with this script's arguments. The servers are stopped on any exit.
# Expects from scripts/test: PACKYARD_RIG_DIR (logs and S3 data), DYNAMODB_LOCAL_DIR, S3S_FS and MOTO_SERVER;
# PACKYARD_TWINE, PACKYARD_UV and PACKYARD_CLIENTS_PYTHON (the Python clients) pass through to the tests.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source scripts/lib/rig.sh
source scripts/lib/servers.sh

: "${PACKYARD_RIG_DIR:?run scripts/test, not this file}" "${DYNAMODB_LOCAL_DIR:?}" "${S3S_FS:?}" "${MOTO_SERVER:?}"

trap stop_servers EXIT
# So that Ctrl-C or a kill still runs the EXIT trap and stops the servers.
trap 'exit 130' INT
trap 'exit 143' TERM

ip link set lo up
# A proxy from the caller's environment cannot be reached from here, and the servers are local anyway.
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"

read -r dynamodb_port s3_port moto_port < <(free_ports 3)
# Letters and digits only: DynamoDB Local refuses other access keys, and the Lambda runtime test signs both with it.
s3_access_key=packyardrig
s3_secret_key=packyard-rig-secret
start_dynamodb_local "$dynamodb_port" "$PACKYARD_RIG_DIR"
start_s3s_fs "$s3_port" "$PACKYARD_RIG_DIR" "$s3_access_key" "$s3_secret_key"
start_moto "$moto_port" "$PACKYARD_RIG_DIR"
wait_for_servers

export PACKYARD_TEST_DYNAMODB_URL="http://127.0.0.1:$dynamodb_port"
export PACKYARD_TEST_S3_URL="http://127.0.0.1:$s3_port"
export PACKYARD_TEST_S3_ACCESS_KEY="$s3_access_key"
export PACKYARD_TEST_S3_SECRET_KEY="$s3_secret_key"
export PACKYARD_TEST_S3_REGION=us-east-1
export PACKYARD_TEST_MOTO_URL="http://127.0.0.1:$moto_port"

# Not exec: the EXIT trap must outlive cargo to stop the servers. --offline: there is no network in here, and the
# build step outside already fetched everything.
cargo test --workspace --offline "$@"
