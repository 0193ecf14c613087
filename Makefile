# netmon-agent. `make demo` shows it on a throwaway lab; `make test` installs
# what the tests need and runs them all (root for the lab tests).
GO        ?= go
# Release and package release, as OpenWrt writes them (0.1.0-r1), with the
# commit as apk's ~hash where git knows it: opkg and apk both take it.
RELEASE     := 0.1.0
PKG_RELEASE := 1
GIT_HASH    := $(shell git rev-parse --short HEAD 2>/dev/null)
VERSION   ?= $(RELEASE)$(if $(GIT_HASH),~$(GIT_HASH))-r$(PKG_RELEASE)
# NOSMTP=1 builds without the SMTP client and Go's TLS stack (2.5 MB less on
# mips): mail then goes through option sendmail or msmtp_account only.
comma     := ,
# NOWEB=1 builds without the web server (option listen): net/http and the TLS
# stack it brings are 1.6 MB on mips, 4 MB more in a NOSMTP build.
TAGS      := urfave_cli_no_docs$(if $(NOSMTP),$(comma)nosmtp)$(if $(NOWEB),$(comma)noweb)
# The packages' variants: netmon-agent (router: no SMTP client, no web
# server, no iptables backend: both packages depend on nftables) and
# netmon-agent-full (iptables too, for servers).
ROUTER_TAGS := urfave_cli_no_docs,nosmtp,noweb,noiptables
FULL_TAGS   := urfave_cli_no_docs
LDFLAGS   := -s -w -X main.version=$(VERSION)
GOBUILD   := CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)"
BUILD     := $(GOBUILD) -tags $(TAGS)
# The oldest Go the OpenWrt packages feed builds with (25.12); CI builds
# with it too, so go.mod never asks for more than the feed has.
FEED_GO   := go1.26.6
STATICCHECK_VERSION := v0.8.2
GOBIN     := $(shell $(GO) env GOPATH)/bin

.PHONY: bench-history all build demo test deps check unit bench bench-hosts bench-flash size cross ipk clean feed-go

all: build

build:
	$(BUILD) -o bin/netmon-agent ./cmd/netmon-agent

demo: build
	./scripts/deps.sh
	./scripts/demo.sh bin/netmon-agent

deps:
	./scripts/deps.sh

# gofmt, go vet, staticcheck and shellcheck, as CI runs them.
check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags nosmtp ./...
	$(GO) vet -tags nosmtp,noweb,noiptables ./...
	@test -x $(GOBIN)/staticcheck || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(GOBIN)/staticcheck ./...
	$(GOBIN)/staticcheck -tags nosmtp ./...
	$(GOBIN)/staticcheck -tags nosmtp,noweb,noiptables ./...
	shellcheck -x scripts/*.sh .ci/run cmd/netmon-agent/testdata/vm/*.sh
	shellcheck -s sh openwrt/netmon-agent/files/etc/init.d/netmon-agent openwrt/netmon-agent/files/etc/uci-defaults/90-netmon-agent \
		openwrt/netmon-agent/files/usr/share/netmon-agent/firewall.include openwrt/netmon-agent/control/postinst \
		openwrt/netmon-agent/control/prerm openwrt/netmon-agent/control/prerm-pkg openwrt/netmon-agent/install-files.sh

# Unit tests only: no root, no lab.
unit:
	$(GO) test -short ./...

# The unit tests run again as big-endian 32-bit mips and as arm under
# qemu-user, so endianness and 32-bit bugs show up here, not on a router.
# The browser test's screenshot lands in artifacts/.
test: deps check
	NETMON_ARTIFACTS=$(CURDIR)/artifacts $(GO) test -count=1 -timeout 30m ./...
	$(GO) test -count=1 -tags nosmtp -run 'Mail' ./agent/...
	$(GO) test -count=1 -tags nosmtp,noweb,noiptables -run 'Mail|NoWeb|NoIptables|Metrics|Dashboard' ./agent/...
	GOARCH=mips GOMIPS=softfloat $(GO) test -count=1 -exec qemu-mips-static ./agent/... ./store/...
	GOARCH=arm GOARM=7 $(GO) test -count=1 -exec qemu-arm-static ./agent/... ./store/...
	$(MAKE) feed-go
	rm -rf dist
	$(MAKE) ipk
	./scripts/test-ipk.sh

bench: build
	./scripts/bench.sh bin/netmon-agent

bench-hosts: build
	./scripts/bench-hosts.sh bin/netmon-agent

# The real daemon at 254 busy hosts: what it writes to flash, its memory.
# An hour at the default persist_interval: make bench-flash FLASH_ARGS="62 3600"
FLASH_ARGS ?= 6 60
bench-flash: build
	./scripts/bench-flash.sh bin/netmon-agent $(FLASH_ARGS)

# Three simulated years of history at 32 and 254 hosts: file size per year,
# flash written per day, report read latency. Minutes, not seconds.
bench-history:
	go test -run '^$$' -bench BenchmarkHistoryYears -benchtime=1x -timeout 60m ./store

# Stripped static binaries for the routers, named by OpenWrt architecture,
# with their sizes. No UPX: it breaks Go on MIPS and costs RAM, and the
# routers' filesystems compress anyway.
OPENWRT_ARCHS := mips_24kc:mips:GOMIPS=softfloat mipsel_24kc:mipsle:GOMIPS=softfloat \
	arm_cortex-a7_neon-vfpv4:arm:GOARM=7 aarch64_generic:arm64: x86_64:amd64:
cross:
	@mkdir -p dist
	@for t in $(OPENWRT_ARCHS); do \
		owrt=$${t%%:*}; rest=$${t#*:}; goarch=$${rest%%:*}; extra=$${rest#*:}; \
		env GOOS=linux GOARCH=$$goarch $$extra $(GOBUILD) -tags $(ROUTER_TAGS) -o dist/netmon-agent-$$owrt ./cmd/netmon-agent || exit 1; \
		env GOOS=linux GOARCH=$$goarch $$extra $(GOBUILD) -tags $(FULL_TAGS) -o dist/netmon-agent-full-$$owrt ./cmd/netmon-agent || exit 1; \
		printf '%-26s %-7s router %9d bytes   full %9d bytes\n' $$owrt $$goarch \
			$$(stat -c %s dist/netmon-agent-$$owrt) $$(stat -c %s dist/netmon-agent-full-$$owrt); \
	done

# go.mod's directive is what the feed's Go can build: check with that Go.
feed-go:
	GOTOOLCHAIN=$(FEED_GO) $(GO) build ./...
	GOTOOLCHAIN=$(FEED_GO) $(GO) vet ./agent/... ./store/... ./cmd/...

size: cross

# OpenWrt packages: `make ipk` for every architecture, `make ipk ARCH=mipsel_24kc`
# for one: both variants of the agent, then the LuCI app and the collector
# (architecture all).
ARCH ?= $(foreach t,$(OPENWRT_ARCHS),$(firstword $(subst :, ,$(t))))
ipk: cross
	@for a in $(ARCH); do \
		./scripts/ipk.sh netmon-agent $$a dist/netmon-agent-$$a $(VERSION) dist || exit 1; \
		./scripts/ipk.sh netmon-agent-full $$a dist/netmon-agent-full-$$a $(VERSION) dist || exit 1; \
	done
	@./scripts/ipk.sh luci-app-netmon all - $(VERSION) dist
	@./scripts/ipk.sh prometheus-node-exporter-lua-netmon all - $(VERSION) dist

clean:
	rm -rf bin dist
