# Starts, waits for and stops the emulators the tests run against: DynamoDB Local and s3s-fs for the adapter
# contract suites, moto for the storage link scenarios. Sourced by scripts/lib/netns.sh, inside the private network namespace: DynamoDB Local binds every
# interface, and only there is that harmless.

# One entry per started server, at the same index in each array.
SERVER_NAMES=()
SERVER_PORTS=()
SERVER_PIDS=()
SERVER_LOGS=()

# Prints N distinct free loopback ports on one line. They come from below the kernel's ephemeral range: a port that
# bind(0) handed out and this function released is soon handed out again, and DynamoDB Local's start-up briefly
# binds ephemeral ports, so s3s-fs lost its port to it in about one start in ten.
free_ports() {
  python3 - "$1" <<'PY'
import random, socket, sys
with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
    ephemeral_low = int(f.read().split()[0])
wanted, held = int(sys.argv[1]), []
for port in random.sample(range(10000, ephemeral_low), 200):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        s.close()
        continue
    held.append(s)  # held until all are found, so no port comes out twice
    if len(held) == wanted:
        break
else:
    sys.exit("no free loopback ports below the ephemeral range")
print(" ".join(str(s.getsockname()[1]) for s in held))
PY
}

# start_server NAME PORT LOG COMMAND...: runs COMMAND, which will listen on PORT, in the background, its output in LOG.
start_server() {
  local name=$1 port=$2 log=$3
  shift 3
  "$@" >"$log" 2>&1 </dev/null &
  SERVER_NAMES+=("$name")
  SERVER_PORTS+=("$port")
  SERVER_PIDS+=($!)
  SERVER_LOGS+=("$log")
}

# start_dynamodb_local PORT LOGDIR; DYNAMODB_LOCAL_DIR comes from scripts/lib/install.sh.
start_dynamodb_local() {
  local dir=$DYNAMODB_LOCAL_DIR
  # -inMemory: every run starts empty and leaves nothing on disk.
  start_server "DynamoDB Local" "$1" "$2/dynamodb-local.log" \
    java "-Djava.library.path=$dir/DynamoDBLocal_lib" -jar "$dir/DynamoDBLocal.jar" \
    -inMemory -port "$1" -disableTelemetry
}

# start_s3s_fs PORT LOGDIR ACCESS_KEY SECRET_KEY; S3S_FS comes from scripts/lib/install.sh. Without --domain it
# serves path-style requests only, so clients must force path style.
start_s3s_fs() {
  mkdir -p "$2/s3-data"
  start_server "s3s-fs" "$1" "$2/s3s-fs.log" \
    "$S3S_FS" --host 127.0.0.1 --port "$1" --access-key "$3" --secret-key "$4" "$2/s3-data"
}

# start_moto PORT LOGDIR; MOTO_SERVER comes from scripts/lib/install.sh. One process emulates CloudFormation, IAM,
# STS and S3 (which checks no signatures or policies: the SigV4 checks are s3s-fs's job).
start_moto() {
  start_server "moto" "$1" "$2/moto.log" "$MOTO_SERVER" -H 127.0.0.1 -p "$1"
}

# Waits until every started server answers HTTP on its port (any status will do), up to 60 s each.
wait_for_servers() {
  local i port deadline
  for i in "${!SERVER_NAMES[@]}"; do
    port=${SERVER_PORTS[i]}
    deadline=$((SECONDS + 60))
    until curl --silent --output /dev/null --max-time 2 "http://127.0.0.1:$port/"; do
      # stop_servers, on the way out, shows the end of its log.
      kill -0 "${SERVER_PIDS[i]}" 2>/dev/null ||
        rig_die "${SERVER_NAMES[i]} exited while starting; its log: ${SERVER_LOGS[i]}"
      ((SECONDS < deadline)) || {
        rig_log_tail "${SERVER_NAMES[i]}" "${SERVER_LOGS[i]}"
        rig_die "${SERVER_NAMES[i]} did not answer on 127.0.0.1:$port within 60 s; its log: ${SERVER_LOGS[i]}"
      }
      sleep 0.5
    done
    printf '%s answers on 127.0.0.1:%s (log: %s)\n' "${SERVER_NAMES[i]}" "$port" "${SERVER_LOGS[i]}" >&2
  done
}

# Stops every server by its PID. A server that is already gone died while starting or under the tests: show why.
stop_servers() {
  local i status
  for i in "${!SERVER_PIDS[@]}"; do
    if kill -0 "${SERVER_PIDS[i]}" 2>/dev/null; then
      kill "${SERVER_PIDS[i]}" 2>/dev/null || true
      wait "${SERVER_PIDS[i]}" 2>/dev/null || true
    else
      status=0
      wait "${SERVER_PIDS[i]}" 2>/dev/null || status=$?
      rig_warn "${SERVER_NAMES[i]} exited on its own (status $status) before the rig stopped it"
      rig_log_tail "${SERVER_NAMES[i]}" "${SERVER_LOGS[i]}"
    fi
  done
}
