# syntax=docker/dockerfile:1.7
# The s3jobs image: the `s3jobs` command (worker, dashboard, producer commands), compiled.
#
#   docker build -t s3jobs .
#   docker run --rm s3jobs --help
#   docker run --rm -e REDIS_URL=redis://redis:6379 s3jobs worker
#
# Two stages: `build` installs every dependency and compiles TypeScript (npm run build →
# tsconfig.build.json → dist/); the final stage holds production dependencies and dist/ only,
# and runs as the unprivileged `node` user.

# Node 24, the active LTS line (package.json engines: >=22.11; CI tests 24 and 22).
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Compiling needs no install scripts (native add-ons are optional and come prebuilt).
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY shared ./shared
COPY producers ./producers
COPY workers ./workers
COPY bin ./bin
RUN npm run build

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
# The `s3jobs` shim without bin/s3jobs.ts beside it runs the compiled entry (dist/bin/s3jobs.js),
# so no tsx is needed at run time.
COPY --from=build /app/bin/s3jobs.js ./bin/s3jobs.js
# The official image's unprivileged user (uid 1000); the files above stay root-owned, read-only to it.
USER node
# 3000: s3jobs dashboard (--port).
EXPOSE 3000
ENTRYPOINT ["node", "bin/s3jobs.js"]
CMD ["--help"]
