#!/bin/sh
# Builds gatewayd_VERSION_ARCH.deb with dpkg-deb from already built binaries.
# Usage: scripts/build-deb.sh BIN_DIR OUT_DIR [VERSION]
#   BIN_DIR holds gatewayd and gatewayctl (make deb passes a release build
#   linked with --static-swift-stdlib, so the box needs no Swift toolchain).
# Prints the path of the .deb.
set -eu
bin=$1
out=$2
root=$(cd "$(dirname "$0")/.." && pwd)
version=${3:-$(sed -n 's/.*static let string = "\(.*\)".*/\1/p' "$root/Sources/GatewayDaemon/GatewayVersion.swift")}
arch=$(dpkg --print-architecture)
stage=$(mktemp -d "${TMPDIR:-/tmp}/gatewayd-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
p="$stage/gatewayd"

install -d "$p/DEBIAN" "$p/usr/bin" "$p/lib/systemd/system" "$p/etc/gatewayd" \
           "$p/var/lib/gatewayd" "$p/usr/share/doc/gatewayd"
install -m 0755 "$bin/gatewayd" "$bin/gatewayctl" "$p/usr/bin/"
# Debug information stays on the build machine, as dh_strip would do (19 MB of
# the two binaries); the symbol table stays, for backtraces.
strip --strip-debug "$p/usr/bin/gatewayd" "$p/usr/bin/gatewayctl"
install -m 0644 "$root/systemd/gatewayd.service" "$p/lib/systemd/system/"
install -m 0640 "$root/configs/sample.toml" "$p/etc/gatewayd/gatewayd.toml"
install -m 0644 "$root/docs/operations.md" "$p/usr/share/doc/gatewayd/"
"$root/scripts/install-ctl-docs.sh" "$bin/gatewayctl" "$p" /usr

install -m 0644 /dev/null "$p/DEBIAN/conffiles"
echo /etc/gatewayd/gatewayd.toml > "$p/DEBIAN/conffiles"
for s in postinst prerm postrm; do install -m 0755 "$root/packaging/debian/$s" "$p/DEBIAN/$s"; done
size=$(du -sk --exclude=DEBIAN "$p" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
    "$root/packaging/debian/control.in" > "$p/DEBIAN/control"

mkdir -p "$out"
deb="$out/gatewayd_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$p" "$deb" >/dev/null
echo "$deb"
