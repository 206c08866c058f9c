# votecluster container image: one image for every service (proxy, voter, admin,
# etcd set-up, key generation); the command picks the service. dcrd and etcd are
# not inside: they run as their own processes/containers.
#
#   docker build --build-arg VOTECLUSTER_COMMIT=$(git rev-parse HEAD) -t votecluster:0.1.0 .
#   docker run --rm --read-only --tmpfs /tmp votecluster:0.1.0 --version
#
# The final stage holds only the compiled package (what `npm pack` ships) and its
# production dependencies; it runs as an unprivileged user, writes nothing outside
# /tmp (mount a tmpfs there with a read-only root filesystem), and its HEALTHCHECK
# asks the service's /healthz on the metrics listener (VOTECLUSTER_HEALTH_URL).

# --- build: install everything, compile to dist/, pack the package ----------
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json README.md ./
COPY scripts/ scripts/
COPY bin/ bin/
COPY proto/ proto/
COPY services/ services/
ARG VOTECLUSTER_COMMIT=unknown
RUN VOTECLUSTER_COMMIT="${VOTECLUSTER_COMMIT}" npm run build \
 && npm pack --ignore-scripts --pack-destination /tmp \
 && mkdir -p /app \
 && tar -xzf /tmp/votecluster-*.tgz -C /app --strip-components=1
# Production dependencies only, at the versions the lock file pins.
RUN cp package-lock.json /app/ \
 && cd /app \
 && npm ci --omit=dev --no-audit --no-fund --ignore-scripts \
 && rm -f package-lock.json \
 && npm cache clean --force

# --- runtime ------------------------------------------------------------------
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    VOTECLUSTER_HEALTH_URL=http://127.0.0.1:9464/healthz
WORKDIR /opt/votecluster
COPY --from=build --chown=0:0 /app/ /opt/votecluster/
# npm and corepack are not needed at run time.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
 && groupadd --system --gid 10001 votecluster \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin votecluster
USER 10001:10001
# gRPC NodeProxy 9110; admin gRPC 9120, status page 9121, wallet JSON-RPC 9122; metrics and
# health of voter 9464, proxy 9465, admin 9466 (each only when configured).
EXPOSE 9110 9120 9121 9122 9464 9465 9466
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.VOTECLUSTER_HEALTH_URL,{signal:AbortSignal.timeout(2500)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "/opt/votecluster/bin/votecluster"]
CMD ["--help"]
