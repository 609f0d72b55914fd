// The CLI's one way to reach Temporal: every command's client connects here with the one set of connection settings
// (workers/connection.ts) and the payload codec (workers/data-converter.ts); a server that does not answer is a
// TemporalUnreachableError (exit status 3).
import { Client, Connection } from '@temporalio/client';
import { temporalSettings, type ExplicitTarget } from '../workers/connection';
import { dataConverterFromEnv } from '../workers/data-converter';
import { TemporalUnreachableError } from './exit-status';

/**
 * A client of the namespace the settings name: `explicit` (a campaign config's temporal block) first, then the
 * environment and profile. Close it with `client.connection.close()`.
 */
export async function connectClient(explicit: ExplicitTarget = {}): Promise<Client> {
  const settings = temporalSettings(explicit);
  let connection: Connection;
  try {
    connection = await Connection.connect(settings.connection);
  } catch (err) {
    throw new TemporalUnreachableError(`cannot reach Temporal at ${settings.address}: ${(err as Error).message}`);
  }
  return new Client({ connection, namespace: settings.namespace, dataConverter: dataConverterFromEnv() });
}
