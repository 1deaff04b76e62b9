#!/usr/bin/env bash
# make proto: regenerates the plugin protocol's Go code (sdk/gen) from sdk/proto.
# protoc comes from Debian's protobuf-compiler (installed here if missing); the Go
# generators are pinned tools in go.mod, so a clean clone needs nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

if ! command -v protoc >/dev/null 2>&1; then
	echo "protoc missing: installing protobuf-compiler" >&2
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq protobuf-compiler >/dev/null
fi

out=sdk/gen
rm -rf "$out/pluginv1"
mkdir -p "$out"
# go tool -n builds the pinned generator if needed and prints its path.
protoc \
	--plugin=protoc-gen-go="$(go tool -n protoc-gen-go)" \
	--plugin=protoc-gen-go-grpc="$(go tool -n protoc-gen-go-grpc)" \
	-I sdk/proto \
	--go_out="$out" --go_opt=module=github.com/pleinhq/plein/sdk/gen \
	--go-grpc_out="$out" --go-grpc_opt=module=github.com/pleinhq/plein/sdk/gen \
	plein/plugin/v1/plugin.proto
echo "generated $(find "$out/pluginv1" -name '*.go' | wc -l) files in $out/pluginv1"
