# The worker image: `cpu` (ingest, verification in Docker sandboxes, the workflow) and `gpu` (generation, GRPO
# updates on tfjs-node-gpu, CUDA 11.8 + cuDNN 8 as TensorFlow.js 4.22 needs). Build from the repository root:
#   docker build -f deploy/worker.Dockerfile --target cpu -t pivotrl/worker-cpu:0.1.0 .
#   docker build -f deploy/worker.Dockerfile --target gpu -t pivotrl/worker-gpu:0.1.0 .
#   docker build -f deploy/worker.Dockerfile --target docker-proxy -t pivotrl/docker-proxy:0.1.0 .
# Both answer GET /healthz on PIVOTRL_HEALTH_PORT (workers/health.ts) for liveness probes.
ARG NODE_IMAGE=node:20-bookworm-slim
ARG CUDA_IMAGE=nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04
ARG GO_IMAGE=golang:1.24-bookworm

# The sources only (never a host's node_modules or .pivotrl state).
FROM scratch AS sources
COPY tsconfig.json /
COPY activities /activities
COPY core /core
COPY formats /formats
COPY pipeline /pipeline
COPY pivotrl /pivotrl
COPY policy /policy
COPY sandboxes /sandboxes
COPY store /store
COPY tasks /tasks
COPY verifiers /verifiers
COPY workers /workers
COPY workflows /workflows
COPY models /models

FROM ${NODE_IMAGE} AS cpu
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional && npm cache clean --force
COPY --from=sources / /app/
ENV PIVOTRL_HEALTH_PORT=8080
EXPOSE 8080
CMD ["npx", "tsx", "workers/cpu.ts"]

FROM ${CUDA_IMAGE} AS gpu
COPY --from=cpu /usr/local/bin/node /usr/local/bin/node
COPY --from=cpu /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
WORKDIR /app
COPY package.json package-lock.json ./
# With the optional @tensorflow/tfjs-node-gpu (it fetches its libtensorflow build at install).
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=sources / /app/
ENV PIVOTRL_HEALTH_PORT=8080
EXPOSE 8080
CMD ["npx", "tsx", "workers/gpu.ts"]

# The Docker socket proxy (sandboxes/docker-proxy, SECURITY.md): the CPU worker's sidecar and its only way to the engine.
FROM ${GO_IMAGE} AS docker-proxy-build
WORKDIR /src
COPY sandboxes/docker-proxy/ ./
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags='-s -w' -o /docker-proxy .

FROM scratch AS docker-proxy
COPY --from=docker-proxy-build /docker-proxy /docker-proxy
ENTRYPOINT ["/docker-proxy"]
CMD ["/run/pivotrl/docker.sock", "/var/run/docker.sock"]
