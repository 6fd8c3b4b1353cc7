#!/bin/sh
# The box build: what `make deb` ships and `make bench` measures, so the two
# never differ. Usage:
#   scripts/release-build.sh SCRATCH_DIR PRODUCT...
# builds each product in release mode in SCRATCH_DIR (build output on stderr)
# and prints the directory that holds the binaries on stdout.
#
# Everything below is about memory on a 512 MB box (issue #8, docs/performance.md
# "Memory"): the kernel maps a binary's code 64 KB at a time around every page
# touched, so what matters is how many 64 KB blocks the running daemon touches.
set -eu
cd "$(dirname "$0")/.."
SWIFT="${SWIFT:-swift}"
scratch=$(mkdir -p "$1" && cd "$1" && pwd)
shift

# libstdc++ linked in, not libstdc++.so: the Swift runtime and the config
# parser use a sliver of it, while the shared library's start-up touches about
# 1.5 MB. The linker takes the first libstdc++ it finds on the search path, so
# a directory holding only the archive goes first.
archive=$(clang -print-file-name=libstdc++.a)
[ -f "$archive" ] || { echo "release-build: libstdc++.a not found (install g++ or libstdc++-dev)" >&2; exit 1; }
mkdir -p "$scratch/static-libstdc++"
ln -sf "$archive" "$scratch/static-libstdc++/libstdc++.a"

flags="-c release --scratch-path $scratch
  --static-swift-stdlib
  -Xswiftc -use-ld=lld
  -Xlinker -z -Xlinker pack-relative-relocs
  -Xlinker --no-export-dynamic
  -Xswiftc -Xfrontend -Xswiftc -function-sections
  -Xcc -ffunction-sections -Xcxx -ffunction-sections
  -Xlinker --symbol-ordering-file=$(pwd)/packaging/gatewayd.order
  -Xlinker --no-warn-symbol-ordering
  -Xlinker --script=$(pwd)/packaging/unnamed-functions.lds
  -Xlinker -L$scratch/static-libstdc++"
# Why each:
#   lld (the toolchain's), because gold cannot pack relocations or order symbols;
#   pack-relative-relocs: 1 MB of .rela.dyn becomes 9 KB of .relr.dyn (glibc >= 2.36);
#   --no-export-dynamic undoes the toolchain's -export-dynamic: nothing dlsym()s
#     into gatewayd, and the 6,600 exported names cost half a megabyte at load;
#   function sections let the ordering file move single functions;
#   packaging/gatewayd.order puts every function the daemon runs side by side
#     (scripts/order-file.sh regenerates it; a stale entry is simply ignored);
#   packaging/unnamed-functions.lds gathers the functions that have no name to order by.
# shellcheck disable=SC2086
bin=$("$SWIFT" build $flags --show-bin-path)
for product in "$@"; do
  # SwiftPM does not know the ordering file is an input: relink every time.
  rm -f "$bin/$product"
  # shellcheck disable=SC2086
  "$SWIFT" build $flags --product "$product" >&2
done
echo "$bin"
