#!/bin/sh
# Builds rekey's madmin-go cross-check program (test tooling, never shipped) from
# test/go/madmin-xcheck against Debian's madmin-go 2.0.7:
#   apt-get install -y golang-go golang-github-minio-madmin-go-dev
# Output: .cache/go-xcheck/madmin-xcheck (madmin.EncryptData picks ID 0x00 here) and
#         .cache/go-xcheck/madmin-xcheck-fips (built with -tags fips: EncryptData picks 0x02).
# Usage: scripts/go-xcheck.sh [outdir]   Prints the output directory. Exit 3 when Go or
# madmin-go is missing (tests map that to a loud skip locally, a failure with CI=true).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$root/.cache/go-xcheck"}
gopath=${REKEY_GOPATH:-/usr/share/gocode}
if ! command -v go >/dev/null 2>&1; then
  echo "go-xcheck: the go toolchain is missing: got no 'go' on PATH. Run: apt-get install -y golang-go golang-github-minio-madmin-go-dev" >&2
  exit 3
fi
if [ ! -d "$gopath/src/github.com/minio/madmin-go" ]; then
  echo "go-xcheck: madmin-go is missing: got no $gopath/src/github.com/minio/madmin-go. Run: apt-get install -y golang-github-minio-madmin-go-dev" >&2
  exit 3
fi
mkdir -p "$out"
export GO111MODULE=off GOPATH="$gopath" GOFLAGS=
export GOCACHE="${GOCACHE:-$root/.cache/go-build}"
src="$root/test/go/madmin-xcheck/main.go"
go build -o "$out/madmin-xcheck" "$src"
go build -tags fips -o "$out/madmin-xcheck-fips" "$src"
echo "$out"
