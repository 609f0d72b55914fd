// Liveness for orchestrators (Kubernetes probes, compose health checks): GET /healthz answers 200 while the Temporal
// worker is starting or running, 503 once it has failed or stopped. Off unless PIVOTRL_HEALTH_PORT is set.
import { createServer, type Server } from 'node:http';
import type { State } from '@temporalio/worker';

export const HEALTH_PATH = '/healthz';
const ALIVE: readonly State[] = ['INITIALIZED', 'RUNNING'];

export function serveHealth(worker: { getState(): State }, port: number | undefined): Server | undefined {
  if (port === undefined) return undefined;
  const server = createServer((req, res) => {
    if (req.url !== HEALTH_PATH) return void res.writeHead(404).end();
    const state = worker.getState();
    res.writeHead(ALIVE.includes(state) ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ state }));
  });
  server.listen(port);
  server.unref(); // the worker's own lifetime decides when the process ends
  return server;
}
