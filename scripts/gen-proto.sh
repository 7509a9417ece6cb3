#!/usr/bin/env bash
# Generates the TypeScript types and grpc-js service definitions from proto/ with ts-proto.
#   scripts/gen-proto.sh DIR          write into DIR (replacing it)
#   scripts/gen-proto.sh --check DIR  generate into a temp dir and fail if DIR differs
set -euo pipefail
cd "$(dirname "$0")/.."

check=false
if [[ "${1:-}" == "--check" ]]; then check=true; shift; fi
dest="${1:?usage: gen-proto.sh [--check] DIR}"

if ! command -v protoc >/dev/null; then
  echo "protoc not found: install the Debian package protobuf-compiler" >&2
  exit 1
fi
if [[ ! -f /usr/include/google/protobuf/timestamp.proto ]]; then
  echo "google/protobuf/timestamp.proto not found: install the Debian package libprotobuf-dev" >&2
  exit 1
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
# Options: grpc-js service definitions; Timestamps as Date; int64 as number (amounts in fen fit
# comfortably below 2^53, and ts-proto throws rather than lose precision).
protoc \
  --plugin=protoc-gen-ts_proto=node_modules/.bin/protoc-gen-ts_proto \
  --ts_proto_out="$out" \
  --ts_proto_opt=outputServices=grpc-js,esModuleInterop=true,env=node,useDate=true,forceLong=number,useOptionals=none,exportCommonSymbols=false \
  -I proto \
  $(find proto -name '*.proto' | sort)

if $check; then
  if ! diff -r "$out" "$dest" >/dev/null; then
    diff -ru "$dest" "$out" | head -40 >&2 || true
    echo "src/gen is out of date with proto/: run 'make proto' and commit the result" >&2
    exit 1
  fi
  echo "src/gen matches proto/"
else
  rm -rf "$dest"
  mkdir -p "$dest"
  cp -r "$out"/. "$dest"/
  echo "generated $dest"
fi
