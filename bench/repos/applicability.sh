#!/bin/sh
# applicability.sh - errata applicability at the scale the content issue sets as a goal:
# 10,000 hosts, 2,000 distinct profiles of 800 packages, 5,000 errata (< 10 s on 2 cores).
#   ./bench/repos/applicability.sh [BUILD_DIR] [HOSTS PROFILES PACKAGES ERRATA]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
[ $# -gt 0 ] && shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mods="jansson yaml-0.1 sqlite3 libcurl libmicrohttpd libcrypto libpcre2-8 libxml-2.0 gpgme zlib liblzma libzstd libsolv libxcrypt libzip"
cc -O2 -std=gnu11 -I"$top" -I"$build" $(pkg-config --cflags $mods) \
	"$top/bench/repos/applicability.c" "$build/libdrover.a" $(pkg-config --libs $mods) \
	-lbz2 -lpthread -lm -o "$work/applicability"
"$work/applicability" "$@"
