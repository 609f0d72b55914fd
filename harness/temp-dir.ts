import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const created: string[] = [];

/**
 * A fresh directory under the OS temp dir, removed when the process (a test file, a bench) exits; kept (its path on
 * stderr) when the process exits with a failure, for a look at what the failing test left.
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (created.push(dir) === 1) process.once('exit', removeCreated);
  return dir;
}

function removeCreated(code: number): void {
  if (code !== 0) {
    process.stderr.write(`test directories kept for inspection: ${created.join(' ')}\n`);
    return;
  }
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
}
