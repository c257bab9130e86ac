# Two commands matter: `make dev` runs the operator locally, `make test` passes every test.
# Both install what they need on a fresh machine: Node.js 24 from the npm registry, the npm
# dependencies, and the control plane built from pinned Go modules (cached outside the repo).
SHELL := /bin/bash
export PATH := $(CURDIR)/.tools/bin:$(PATH)

.PHONY: deps controlplane gitops-tools image release test-tools typecheck test test-unit dev bench clean docs

deps: .tools/bin/node node_modules/.installed

.tools/bin/node: tools/node.sh
	./tools/node.sh

node_modules/.installed: package.json package-lock.json .tools/bin/node
	npm ci --no-audit --no-fund
	touch $@

controlplane:
	./tools/controlplane/build.sh >/dev/null

# helm, kstatus and an Argo CD health-script runner, built from pinned Go modules (cached outside the repo).
gitops-tools:
	./tools/gitops/build.sh >/dev/null

# The operator image from the Dockerfile, as an OCI archive (dist/image.oci.tar), with Debian's
# buildah and bases assembled locally: no Docker engine, no registry (tools/image/build.sh).
image: deps
	./tools/image/build.sh >/dev/null

# dist/install.yaml (kubectl kustomize deploy) and the Helm chart's package (tools/release.sh).
release: deps controlplane gitops-tools
	./tools/release.sh

# Programs the tests drive as a user would: promtool and prometheus (metrics, alert rules, a real
# scrape), curl and openssl (the README's signing example). Installed from Debian when missing.
test-tools:
	@missing=""; \
	for p in promtool:prometheus prometheus:prometheus curl:curl openssl:openssl; do \
	  command -v "$${p%%:*}" >/dev/null || missing="$$missing $${p##*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing from Debian:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

docs: deps
	node tools/render-docs.ts

typecheck: deps
	npx tsc --noEmit -p tsconfig.json

test: deps controlplane gitops-tools test-tools typecheck
	npx mocha 'test/**/*.test.ts'

test-unit: deps
	npx mocha 'test/unit/**/*.test.ts'

dev: deps controlplane
	node tools/dev.ts

bench: deps controlplane
	node bench/run.ts

clean:
	rm -rf .tools node_modules .dev
