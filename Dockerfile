# syntax=docker/dockerfile:1
# Build stage: release binary with the Swift runtime linked in statically.
ARG SWIFT_IMAGE=swift:6.3-bookworm
FROM ${SWIFT_IMAGE} AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libhiredis-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Resolve dependencies in their own layer so source edits do not refetch them.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --static-swift-stdlib --product syft-proxy \
    && install -D "$(swift build -c release --show-bin-path)/syft-proxy" /out/syft-proxy

# Runtime stage: the binary, hiredis and CA certificates, running as an unprivileged user.
FROM debian:bookworm-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libhiredis0.14 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin syftproxy
COPY --from=build /out/syft-proxy /usr/local/bin/syft-proxy
USER 10001
ENV PROXY_HOST=0.0.0.0 PROXY_PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/syft-proxy", "health", "--url", "http://127.0.0.1:8000", "--timeout", "2"]
ENTRYPOINT ["/usr/local/bin/syft-proxy"]
CMD ["serve"]
