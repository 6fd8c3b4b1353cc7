#!/bin/sh
# Installs gatewayctl's man page and shell completions, generated from the
# built binary's own argument definitions (so they never drift from --help).
# Usage: scripts/install-ctl-docs.sh GATEWAYCTL_BINARY DESTDIR PREFIX
set -eu
ctl=$1
dest=${2:-}
prefix=${3:-/usr/local}
install -d "$dest$prefix/share/man/man1" \
           "$dest$prefix/share/bash-completion/completions" \
           "$dest$prefix/share/zsh/site-functions"
"$ctl" manual | gzip -9n > "$dest$prefix/share/man/man1/gatewayctl.1.gz"
"$ctl" --generate-completion-script bash > "$dest$prefix/share/bash-completion/completions/gatewayctl"
"$ctl" --generate-completion-script zsh > "$dest$prefix/share/zsh/site-functions/_gatewayctl"
chmod 0644 "$dest$prefix/share/man/man1/gatewayctl.1.gz" \
           "$dest$prefix/share/bash-completion/completions/gatewayctl" \
           "$dest$prefix/share/zsh/site-functions/_gatewayctl"
