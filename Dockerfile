# One image for both the server (lectern) and the egress worker (`npm run worker`); see docker-compose.yml.
FROM node:20-bookworm-slim

WORKDIR /app
ENV NODE_ENV=development \
    npm_config_update_notifier=false

# Dependencies first (cached while only sources change). Dev dependencies are needed: tsx runs the
# TypeScript sources and esbuild bundles the web client. @ffmpeg-installer brings the linux-x64 ffmpeg.
COPY package.json package-lock.json ./
# The postinstall step patches werift (scripts/patch-werift.mjs).
COPY scripts ./scripts
# The committed lock file, exactly (npm ci accepts it; .ci/run checks that npm install leaves it unchanged).
RUN npm ci --no-audit --no-fund

COPY tsconfig.json ./
COPY src ./src
COPY jobs ./jobs
RUN npm run build:client \
 && mkdir -p /app/data /app/groups /recordings \
 && chown -R node:node /app/data /app/groups /recordings

USER node
EXPOSE 8443/tcp
# --internal-http for workers (compose: on its private network only, never published).
EXPOSE 8444/tcp
EXPOSE 40000-40100/udp
VOLUME ["/recordings"]

# The server; the worker service overrides the command with `npm run worker -- ...`.
CMD ["node", "--import", "tsx", "src/main.ts", "--http", ":8443", "--data", "/app/data", "--groups", "/app/groups", "--recordings", "/recordings", "--udp-range", "40000-40100"]
