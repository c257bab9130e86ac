# Two commands matter: `make dev` runs the operator locally, `make test` passes every test.
# Both install what they need on a fresh machine: Node.js 24 from the npm registry, the npm
# dependencies, and the control plane built from pinned Go modules (cached outside the repo).
SHELL := /bin/bash
export PATH := $(CURDIR)/.tools/bin:$(PATH)

.PHONY: deps controlplane typecheck test test-unit dev bench clean

deps: .tools/bin/node node_modules/.installed

.tools/bin/node: tools/node.sh
	./tools/node.sh

node_modules/.installed: package.json package-lock.json .tools/bin/node
	npm ci --no-audit --no-fund
	touch $@

controlplane:
	./tools/controlplane/build.sh >/dev/null

typecheck: deps
	npx tsc --noEmit -p tsconfig.json

test: deps controlplane typecheck
	npx mocha 'test/**/*.test.ts'

test-unit: deps
	npx mocha 'test/unit/**/*.test.ts'

dev: deps controlplane
	node tools/dev.ts

bench: deps controlplane
	node bench/run.ts

clean:
	rm -rf .tools node_modules .dev
