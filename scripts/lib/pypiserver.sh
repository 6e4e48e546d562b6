# pypiserver for the Python benchmarks: installed once into the cache, serving a folder on a loopback port.
# Sourced by scripts/bench-pypi and scripts/bench-packument after scripts/lib/rig.sh and scripts/lib/servers.sh.

# Sets PYPISERVER_VENV to a virtualenv with pypiserver (and passlib, which it imports), installing it if needed.
ensure_pypiserver() {
  PYPISERVER_VENV=$PACKYARD_CACHE/pypiserver
  "$PYPISERVER_VENV/bin/pypi-server" --version >/dev/null 2>&1 && return
  rig_say "installing pypiserver and passlib into $PYPISERVER_VENV (pip, once)"
  python3 -m venv "$PYPISERVER_VENV"
  "$PYPISERVER_VENV/bin/pip" install --quiet pypiserver passlib >&2
}

# start_pypiserver WORK PORT FOLDER: serves FOLDER with no authentication at all (-a . -P .) and no fallback to
# pypi.org (a missing package is a 404, not a redirect).
start_pypiserver() {
  mkdir -p "$3"
  start_server "pypiserver" "$2" "$1/pypiserver.log" \
    "$PYPISERVER_VENV/bin/pypi-server" run -i 127.0.0.1 -p "$2" -a . -P . --disable-fallback "$3"
}
