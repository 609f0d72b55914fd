// Steering a running campaign: status, pause, resume, stop and set, each an Update (none for status) and then the
// campaign's progress line.
import type { Hyper } from '../pipeline/campaign-state';
import { hyperUpdate, pauseUpdate, progressQuery, stopUpdate } from '../workflows/campaign';
import { connectClient } from './connect';
import { formatProgressLine } from './format';

export type Steer = 'status' | 'pause' | 'resume' | 'stop' | 'set';

export async function steer(command: Steer, id: string, change: Partial<Hyper> = {}): Promise<void> {
  const client = await connectClient();
  try {
    const handle = client.workflow.getHandle(id);
    if (command === 'pause' || command === 'resume') await handle.executeUpdate(pauseUpdate, { args: [command === 'pause'] });
    if (command === 'stop') await handle.executeUpdate(stopUpdate, { args: [] });
    if (command === 'set') console.log(JSON.stringify(await handle.executeUpdate(hyperUpdate, { args: [change] })));
    console.log(formatProgressLine(await handle.query(progressQuery)));
  } finally {
    await client.connection.close();
  }
}
