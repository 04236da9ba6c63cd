# syntax=docker/dockerfile:1
#
# Targets (the last one is the default):
#   docker build -t syft-proxy .                                  # runtime: the proxy
#   docker build --target examples -t syft-proxy-examples .       # calculator-app and calculator-client
# Both run as an unprivileged user on debian:bookworm-slim, with the Swift runtime linked in
# statically; the only shared libraries they need beyond the base image are installed below.

ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------------------------------------
# build: release binary of the proxy.
FROM ${SWIFT_IMAGE} AS build
# Unpinned on purpose: bookworm's security updates should reach the next image build.
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libhiredis-dev zlib1g-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, in their own layer, so source edits do not refetch them. Package.resolved
# is optional (the glob matches Package.swift alone when it is absent); when present and in
# step with Package.swift, its pinned versions are the ones fetched.
COPY Package.* ./
RUN swift package resolve
# Every path the manifest declares a target in must be in the build context, test targets and
# examples included, or SwiftPM refuses to load the package (scripts/validate-deploy.sh checks this).
COPY Sources ./Sources
COPY Tests ./Tests
COPY examples ./examples
RUN swift build -c release --static-swift-stdlib --product syft-proxy \
    && install -D "$(swift build -c release --show-bin-path)/syft-proxy" /out/syft-proxy

# ---------------------------------------------------------------------------------------------
# build-examples: the calculator example apps (only built for the `examples` target).
FROM build AS build-examples
RUN swift build -c release --static-swift-stdlib --product calculator-app \
    && swift build -c release --static-swift-stdlib --product calculator-client \
    && bin="$(swift build -c release --show-bin-path)" \
    && install -D "$bin/calculator-app" /out/calculator-app \
    && install -D "$bin/calculator-client" /out/calculator-client

# ---------------------------------------------------------------------------------------------
# base: what both images share: CA certificates and the unprivileged user.
FROM ${RUNTIME_IMAGE} AS base
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin syftproxy

# ---------------------------------------------------------------------------------------------
# examples: App B (calculator-app, the default command) and App A (calculator-client).
#   docker run --rm -e SYFT_PROXY_URLS=http://proxy1:8000 syft-proxy-examples
#   docker run --rm -e SYFT_PROXY_URLS=http://proxy1:8000 syft-proxy-examples calculator-client
FROM base AS examples
COPY --from=build-examples /out/calculator-app /out/calculator-client /usr/local/bin/
USER 10001
ENV SYFT_PROXY_URLS=http://localhost:8000 SYFT_IDENTITY=bob@example.com
# Neither program listens on a port; the proxy's own health is what matters.
HEALTHCHECK NONE
CMD ["calculator-app"]

# ---------------------------------------------------------------------------------------------
# runtime (default target): the proxy, with hiredis.
FROM base AS runtime
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libhiredis0.14 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/syft-proxy /usr/local/bin/syft-proxy
USER 10001
ENV PROXY_HOST=0.0.0.0 PROXY_PORT=8000
EXPOSE 8000
# Liveness only: `health --live` checks GET /health. Readiness (GET /ready) follows Redis, and a
# health check that required it would have every replica restarted by whatever acts on it
# whenever Redis is briefly away; readiness belongs in routing (Kubernetes readinessProbe).
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/syft-proxy", "health", "--live", "--url", "http://127.0.0.1:8000", "--timeout", "2"]
# SIGTERM drains: the replica stops accepting, lets open requests finish (blocking callers up to
# their timeout, at most PROXY_MAX_TIMEOUT), then exits 0. Give it that long before SIGKILL.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/syft-proxy"]
CMD ["serve"]
