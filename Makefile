# netmon-agent. `make demo` shows it on a throwaway lab; `make test` installs
# what the tests need and runs them all (root for the lab tests).
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
TAGS      := urfave_cli_no_docs
LDFLAGS   := -s -w -X main.version=$(VERSION)
BUILD     := CGO_ENABLED=0 $(GO) build -trimpath -tags $(TAGS) -ldflags "$(LDFLAGS)"
STATICCHECK_VERSION := v0.8.2
GOBIN     := $(shell $(GO) env GOPATH)/bin

.PHONY: all build demo test deps check unit bench size clean

all: build

build:
	$(BUILD) -o bin/netmon-agent ./cmd/netmon-agent

demo: build
	./scripts/deps.sh
	./scripts/demo.sh bin/netmon-agent

deps:
	./scripts/deps.sh

# gofmt, go vet and staticcheck, as CI runs them.
check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@test -x $(GOBIN)/staticcheck || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(GOBIN)/staticcheck ./...

# Unit tests only: no root, no lab.
unit:
	$(GO) test -short ./...

test: deps check
	$(GO) test -count=1 ./...

bench: build
	./scripts/bench.sh bin/netmon-agent

# Stripped static binaries for the router architectures, with their sizes.
size:
	@for t in amd64: mipsle:GOMIPS=softfloat mips:GOMIPS=softfloat arm:GOARM=7 arm64:; do \
		arch=$${t%%:*}; extra=$${t#*:}; \
		env GOOS=linux GOARCH=$$arch $$extra $(BUILD) -o dist/netmon-agent-$$arch ./cmd/netmon-agent || exit 1; \
		printf '%-8s %9d bytes\n' $$arch $$(stat -c %s dist/netmon-agent-$$arch); \
	done

clean:
	rm -rf bin dist
