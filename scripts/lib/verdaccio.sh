# Verdaccio for the npm benchmarks: a pinned install in the cache, and a server with no uplinks on a loopback port.
# Sourced by scripts/bench-npm and scripts/bench-packument after scripts/lib/rig.sh and scripts/lib/servers.sh.

# The last Verdaccio whose engines field accepts Node 20 (6.9.0 and later want Node 22).
VERDACCIO_VERSION=6.8.0

# Sets VERDACCIO_DIR to a folder holding node_modules/verdaccio at the pinned version, installing it if needed.
ensure_verdaccio() {
  VERDACCIO_DIR=$PACKYARD_CACHE/verdaccio
  [[ $(installed_verdaccio_version) == "$VERDACCIO_VERSION" ]] && return
  rig_say "installing verdaccio@$VERDACCIO_VERSION into $VERDACCIO_DIR (npm, once)"
  mkdir -p "$VERDACCIO_DIR"
  # verdaccio-audit asks for node-fetch by the dist-tag `cjs`, which the registry as served here does not carry;
  # 2.7.0 is the CommonJS release that tag means.
  cat >"$VERDACCIO_DIR/package.json" <<JSON
{
  "name": "packyard-bench-verdaccio",
  "private": true,
  "dependencies": { "verdaccio": "$VERDACCIO_VERSION" },
  "overrides": { "node-fetch": "2.7.0" }
}
JSON
  (cd "$VERDACCIO_DIR" && npm install --no-audit --no-fund --loglevel=error) >&2
  [[ $(installed_verdaccio_version) == "$VERDACCIO_VERSION" ]] ||
    rig_die "npm install finished, but $VERDACCIO_DIR has no verdaccio@$VERDACCIO_VERSION"
}

installed_verdaccio_version() {
  node -p "require('$VERDACCIO_DIR/node_modules/verdaccio/package.json').version" 2>/dev/null || true
}

# start_verdaccio WORK PORT: writes WORK/verdaccio/config.yaml and starts Verdaccio with it.
start_verdaccio() {
  local WORK=$1 verdaccio_port=$2
  mkdir -p "$WORK/verdaccio"
  touch "$WORK/verdaccio/htpasswd"
  # No uplinks: a package Verdaccio lacks is a 404, never a trip to the public registry.
  cat >"$WORK/verdaccio/config.yaml" <<YAML
storage: $WORK/verdaccio/storage
auth:
  htpasswd:
    file: $WORK/verdaccio/htpasswd
    max_users: 10
# JWT API tokens: the default legacy ones make Verdaccio check the password's bcrypt hash on every request.
security:
  api:
    jwt:
      sign:
        expiresIn: 1d
uplinks: {}
packages:
  '**':
    access: \$all
    publish: \$authenticated
listen: 127.0.0.1:$verdaccio_port
log: { type: file, path: $WORK/verdaccio/verdaccio.log, level: warn }
YAML
  start_server "Verdaccio" "$verdaccio_port" "$WORK/verdaccio.log" \
    node "$VERDACCIO_DIR/node_modules/verdaccio/bin/verdaccio" --config "$WORK/verdaccio/config.yaml"
}
