// Harness (tests and benches): a Docker engine client (sandboxes/engine) for an engine that answers, or a clear error.
import { connectEngine, type DockerClient } from '../sandboxes/engine';

export async function requireDocker(timeoutMs = 5000): Promise<DockerClient> {
  const docker = connectEngine(); // DOCKER_HOST, else /var/run/docker.sock
  const where = process.env.DOCKER_HOST ?? '/var/run/docker.sock';
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([docker.ping(), timeout]);
  } catch (err) {
    throw new Error(
      `Docker engine does not answer at ${where} (${(err as Error).message}); ` +
        'start it with deploy/local/docker-engine.sh (or deploy/local/up.sh)',
    );
  } finally {
    clearTimeout(timer);
  }
  return docker;
}
