# gatewayd — the two commands a newcomer needs are `make demo` and `make test`.
# Both install what is missing first (Debian packages; apt-get update once).

SWIFT        ?= swift
PREFIX       ?= /usr/local
CONFIG       ?= release
APT_PACKAGES := libmodbus-dev libmosquitto-dev libsqlite3-dev libtomlplusplus-dev zlib1g-dev pkg-config \
                mosquitto mosquitto-clients openssl python3 sqlite3 valgrind \
                systemd
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build test demo bench clean install deb

all: build

# Installs only what is missing, so a prepared machine does not touch apt at all.
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $$missing; \
	fi
	@command -v $(SWIFT) >/dev/null || { echo "swift is not on PATH (Swift 6 toolchain required)"; exit 1; }

build: deps
	$(SWIFT) build

# Every test, against real parts: mosquitto, libmodbus on both ends, SQLite files, pseudo-terminals.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# Simulated devices + a local mosquitto + gatewayd; prints what a utility receives. Ctrl-C stops it all.
demo: build
	./scripts/demo.sh

# Benchmarks (release build): what a reading costs, how fast a backlog drains; writes bench/results.json.
bench: deps
	./scripts/bench.sh

clean:
	rm -rf .build .demo

install: deps
	$(SWIFT) build -c $(CONFIG)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)/etc/gatewayd
	install -m 0755 .build/$(CONFIG)/gatewayd .build/$(CONFIG)/gatewayctl $(DESTDIR)$(PREFIX)/bin/
	[ -e $(DESTDIR)/etc/gatewayd/gatewayd.toml ] || install -m 0640 configs/sample.toml $(DESTDIR)/etc/gatewayd/gatewayd.toml
	./scripts/install-ctl-docs.sh .build/$(CONFIG)/gatewayctl "$(DESTDIR)" "$(PREFIX)"
	install -d $(DESTDIR)/lib/systemd/system
	sed 's|/usr/bin/gatewayd|$(PREFIX)/bin/gatewayd|' systemd/gatewayd.service > $(DESTDIR)/lib/systemd/system/gatewayd.service
	chmod 0644 $(DESTDIR)/lib/systemd/system/gatewayd.service

# A Debian package (the box build of scripts/release-build.sh: Swift runtime and libstdc++ linked in,
# so the box needs no toolchain): build/gatewayd_VERSION_ARCH.deb
deb: deps
	./scripts/build-deb.sh "$$(./scripts/release-build.sh .build-release gatewayd gatewayctl)" build
