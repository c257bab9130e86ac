# Two commands matter: `make dev` runs the operator locally, `make test` passes every test.
# Both install what they need on a fresh machine: Node.js 24 from the npm registry, the npm
# dependencies, the control plane and the node's runtime built from pinned Go modules (cached
# outside the repo), and runc and busybox-static from Debian.
SHELL := /bin/bash
export PATH := $(CURDIR)/.tools/bin:$(PATH)

.PHONY: deps build controlplane node-runtime node-tools node-cleanup gitops-tools image release test-tools typecheck test test-unit dev bench clean docs

deps: .tools/bin/node node_modules/.installed

.tools/bin/node: tools/node.sh
	./tools/node.sh

node_modules/.installed: package.json package-lock.json .tools/bin/node
	npm ci --no-audit --no-fund
	touch $@

controlplane:
	./tools/controlplane/build.sh >/dev/null

# The local node's runtime: containerd, its runc shim, the CNI plugins and the pause binary.
node-runtime: node-tools
	./tools/node-runtime/build.sh >/dev/null

# runc (containerd runs containers with it), busybox-static (the pipelines' image in tests and
# make dev) and iptables (kube-proxy's, for the node that routes Services), from Debian when missing.
node-tools:
	@missing=""; \
	for p in runc busybox-static iptables; do \
	  dpkg -s "$$p" >/dev/null 2>&1 || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing from Debian:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# Removes what local nodes of crashed runs left on the host (a running node cleans up after itself,
# and the next one to start cleans after crashed ones; this is for a machine no node starts on again).
node-cleanup: controlplane
	"$$(./tools/controlplane/build.sh)" node-cleanup

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

# src/ compiled to dist/lib, as the image runs it (tsconfig.build.json says why).
build: deps
	npx tsc -p tsconfig.build.json

test: deps controlplane node-runtime gitops-tools test-tools typecheck
	npx mocha 'test/**/*.test.ts'

test-unit: deps
	npx mocha 'test/unit/**/*.test.ts'

# A machine that cannot run containers still gets the rest: dev.ts says so in one line.
dev: deps controlplane
	@$(MAKE) --no-print-directory node-tools >/dev/null 2>&1 || true
	node tools/dev.ts

bench: deps controlplane build
	node bench/run.ts

clean:
	rm -rf .tools node_modules .dev dist
