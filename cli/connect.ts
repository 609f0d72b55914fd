// The CLI's one way to reach Temporal: every command's client connects here, and a server that does not answer is a
// TemporalUnreachableError (exit status 3).
import { Client, Connection } from '@temporalio/client';
import { TemporalConfig } from '../core/config';
import { TemporalUnreachableError } from './exit-status';

/** Where the steering commands (status, pause, resume, stop, set) find the server: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE. */
export const envTarget = () => ({
  address: process.env.TEMPORAL_ADDRESS ?? TemporalConfig.shape.address.parse(undefined),
  namespace: process.env.TEMPORAL_NAMESPACE ?? TemporalConfig.shape.namespace.parse(undefined),
});

/** A client of `target`'s namespace; close it with `client.connection.close()`. */
export async function connectClient(target: { address: string; namespace: string }): Promise<Client> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: target.address });
  } catch (err) {
    throw new TemporalUnreachableError(`cannot reach Temporal at ${target.address}: ${(err as Error).message}`);
  }
  return new Client({ connection, namespace: target.namespace });
}
