// The Docker engine: the one place that opens a client to it (dockerode), the client's types, and how engine
// failures become SandboxInfraErrors (never an action's result).
import Docker from 'dockerode';

export type DockerClient = Docker;
export type Container = Docker.Container;
export type ContainerInfo = Docker.ContainerInfo;

/** A client of the Docker engine at `socketPath`, else DOCKER_HOST, else /var/run/docker.sock (dockerode's defaults). */
export const connectEngine = (socketPath?: string): DockerClient => (socketPath ? new Docker({ socketPath }) : new Docker());

/** An engine-side failure (engine down, image missing, container gone, runner lost): never an action's result. */
export class SandboxInfraError extends Error {
  override readonly name = 'SandboxInfraError';
  constructor(
    readonly code:
      'engine_unavailable' | 'engine_error' | 'image_missing' | 'container_gone' | 'runner_failed' | 'runner_unresponsive' | 'destroyed',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const isSandboxInfraError = (err: unknown): err is SandboxInfraError => err instanceof SandboxInfraError;

function describe(err: unknown): string {
  const e = err as { message?: string; json?: { message?: string }; reason?: string };
  return e?.json?.message ?? e?.message ?? String(err);
}

/** Maps a dockerode / socket error to a SandboxInfraError. */
export function toInfraError(err: unknown, context: string): SandboxInfraError {
  if (err instanceof SandboxInfraError) return err;
  const e = err as { statusCode?: number; code?: string };
  const msg = describe(err);
  if (e?.code && ['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH'].includes(e.code)) {
    return new SandboxInfraError('engine_unavailable', `${context}: Docker engine unavailable (${e.code}: ${msg})`, { cause: err });
  }
  if (e?.statusCode === 404 && /image/i.test(msg)) {
    return new SandboxInfraError(
      'image_missing',
      `${context}: ${msg}; build the sandbox images with \`make setup\` (deploy/local/images.sh)`,
      {
        cause: err,
      },
    );
  }
  if (e?.statusCode === 404 || e?.statusCode === 409 || /is not running|no such container|is paused|removal of container/i.test(msg)) {
    return new SandboxInfraError('container_gone', `${context}: container gone (${msg})`, { cause: err });
  }
  return new SandboxInfraError('engine_error', `${context}: ${msg}`, { cause: err });
}

/** Engine calls that do not answer within this long are infrastructure failures (a hung engine, not a verdict). */
export const ENGINE_TIMEOUT_MS = 60_000;

/** Resolves like `p`, or rejects with a SandboxInfraError when the engine does not answer within `ms`. */
export function withEngineTimeout<T>(p: Promise<T>, what: string, ms = ENGINE_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new SandboxInfraError('engine_error', `${what}: no answer from the Docker engine within ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Throws a SandboxInfraError (image_missing, with the fix) unless the image exists locally. */
export async function ensureImage(docker: DockerClient, image: string): Promise<void> {
  try {
    await withEngineTimeout(docker.getImage(image).inspect(), `inspect image ${image}`);
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) {
      throw new SandboxInfraError(
        'image_missing',
        `sandbox image ${image} is missing; build it with \`make setup\` (deploy/local/images.sh)`,
        {
          cause: err,
        },
      );
    }
    throw toInfraError(err, `image ${image}`);
  }
}
