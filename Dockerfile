# The operator image: the sources compiled to JavaScript (tsconfig.build.json), package.json and the
# production node_modules. Node.js 24 could run the .ts sources directly, but type stripping costs
# every process about 20 MiB of resident memory, and a receiver replica is mostly idle memory.
#
#   docker build -t ghcr.io/planasonix/webhook-operator:0.1.0 .      (or podman build, buildah bud)
#
# Both bases are build arguments: pin them by digest in your release pipeline
# (--build-arg RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot@sha256:...). `make image`
# builds this same file without a registry, with bases assembled from Debian's packages and the
# project's own Node.js (tools/image/build-bases.sh). Both are Debian 12, so anything the build
# stage installs runs on the runtime's libc.
ARG BUILD_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

# ---- dependencies: production packages only, exactly as locked
FROM ${BUILD_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=dev keeps mocha, typescript and the other dev tools out; --ignore-scripts because no
# production dependency needs an install script, and none should run at build time.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# ---- build: src/ compiled to dist/lib (types are checked by `make typecheck`, not here)
FROM ${BUILD_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json

# ---- runtime: no shell, no package manager, no npm
FROM ${RUNTIME_IMAGE}
WORKDIR /app
ENV NODE_ENV=production
# Files stay owned by root and read-only to the process: it cannot modify its own code.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/dist/lib ./lib
# The distroless "nonroot" user, numeric so that Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
# 8080: webhook receiver; 9090: /metrics; 8081: /healthz and /readyz.
EXPOSE 8080 9090 8081
ENTRYPOINT ["/nodejs/bin/node", "lib/cli/main.js"]
CMD ["run"]
