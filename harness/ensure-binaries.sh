#!/usr/bin/env bash
# Checks that the server binaries the integration tests start as throwaway
# instances are installed: redis-server, PostgreSQL (initdb + postgres),
# MariaDB (mariadbd + mariadb-install-db), nginx, protoc with the protobuf
# well-known types (google/protobuf/timestamp.proto, from libprotobuf-dev: a
# Recommends of protobuf-compiler that --no-install-recommends leaves out), and
# the system python3 with grpc (Debian's python3-grpcio), and promtool (Debian's
# prometheus package) for the alert rules' unit tests in test/deploy/monitoring.test.ts,
# and Debian's chromium (driven headless by puppeteer-core in test/e2e/console.test.ts;
# no browser is ever downloaded).
#
# As root, missing ones are installed with apt-get (one `apt-get update`, one
# `apt-get install`). Otherwise it names the missing binaries and the Debian
# packages to install, and exits 1. Fast and side-effect free when everything
# is present: it only runs `--version`-style commands.
set -euo pipefail

# /usr/sbin holds mariadbd and nginx on Debian but is not on a normal user's PATH.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

# Same search order as harness/postgres-binaries.ts: pg_config's bindir
# (it may belong to another major version, so verify it), then the highest
# /usr/lib/postgresql/<major>/bin.
postgres_bindir() {
  local dir
  if command -v pg_config >/dev/null 2>&1; then
    dir="$(pg_config --bindir 2>/dev/null || true)"
    if [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/postgres" ]]; then
      echo "$dir"
      return 0
    fi
  fi
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [[ -x "$dir/initdb" && -x "$dir/postgres" ]]; then
      echo "$dir"
      return 0
    fi
  done
  return 1
}

missing_binaries=()
missing_packages=()
found=()

# check <label> <debian package> <command printing a version; fails if absent>
check() {
  local label="$1" package="$2" version
  shift 2
  if version="$("$@" 2>&1)" && [[ -n "$version" ]]; then
    found+=("$label $version")
  else
    missing_binaries+=("$label")
    missing_packages+=("$package")
  fi
}

version_redis() { redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p'; }
version_postgres() {
  local dir
  dir="$(postgres_bindir)" || return 1
  echo "$("$dir/postgres" --version | awk '{print $3}') ($dir)"
}
version_mariadb() {
  command -v mariadb-install-db >/dev/null || return 1
  mariadbd --version | sed -n 's/.*Ver \([^ -]*\).*/\1/p'
}
version_nginx() { nginx -v 2>&1 | sed -n 's|.*nginx/\([^ ]*\).*|\1|p'; }
version_protoc() { protoc --version | awk '{print $2}'; }
# proto/ imports google/protobuf/timestamp.proto; protoc finds it in its default include dir.
version_protobuf_wkt() { [[ -f /usr/include/google/protobuf/timestamp.proto ]] && echo /usr/include/google/protobuf; }
# The Debian system python, not whatever python3 comes first on PATH (pyenv...).
version_python_grpc() { /usr/bin/python3 -c 'import grpc; print(grpc.__version__)'; }
# The Debian wrapper script may complain on stderr; only its "Chromium <version> ..." line counts.
version_chromium() { chromium --version 2>/dev/null | sed -n 's/^Chromium \([^ ]*\).*/\1/p'; }
# A font for the screenshots the browser test saves (a Recommends of chromium that
# --no-install-recommends leaves out; without any font, text renders as boxes).
version_fonts() { [[ -d /usr/share/fonts/truetype/liberation ]] && echo liberation; }
version_promtool() { promtool --version 2>&1 | sed -n 's/^promtool, version \([^ ]*\).*/\1/p'; }

run_checks() {
  missing_binaries=()
  missing_packages=()
  found=()
  check redis-server redis-server version_redis
  check postgres postgresql version_postgres
  check mariadbd mariadb-server version_mariadb
  check nginx nginx-light version_nginx
  check protoc protobuf-compiler version_protoc
  check protobuf-well-known-types libprotobuf-dev version_protobuf_wkt
  check python3-grpc python3-grpcio version_python_grpc
  check promtool prometheus version_promtool
  check chromium chromium version_chromium
  check chromium-fonts fonts-liberation version_fonts
}

run_checks

if ((${#missing_binaries[@]} > 0)); then
  if [[ "$(id -u)" != 0 ]]; then
    echo "missing: ${missing_binaries[*]}; install the Debian packages: sudo apt-get install ${missing_packages[*]}" >&2
    exit 1
  fi
  echo "ensure-binaries: installing ${missing_packages[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2
  apt-get install -y --no-install-recommends "${missing_packages[@]}" >&2
  run_checks
  if ((${#missing_binaries[@]} > 0)); then
    echo "still missing after apt-get install: ${missing_binaries[*]}" >&2
    exit 1
  fi
fi

printf -v summary '%s, ' "${found[@]}"
echo "ensure-binaries: found ${summary%, }"
