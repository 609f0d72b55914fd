// The quarantine of bad input records: streamed to the store in parts of bounded size, so a file full of bad
// lines costs no more memory than a clean one. Only counts and the first few examples stay in memory.
import { z } from 'zod';
import type { ArtefactStore } from '../store';

/** A record that could not be used: where it is, which field is wrong, why, and the start of the line. */
export const BadRecord = z.object({
  file: z.string(),
  line: z.number().int().positive(),
  /** The zod issue path of the bad field (`messages.2.content`), or `(record)` when the line as a whole is bad. */
  field: z.string(),
  reason: z.string(),
  /** Size of the line in bytes. */
  bytes: z.number().int().nonnegative().optional(),
  /** The line's first bytes (see RAW_LIMIT_BYTES). */
  raw: z.string().optional(),
});
export type BadRecord = z.infer<typeof BadRecord>;

export interface QuarantineSummary {
  count: number;
  /** The first few bad records, without their raw text. */
  examples: BadRecord[];
  /** Store keys of the quarantine parts, in order (none when nothing was bad). */
  parts: string[];
}

export class Quarantine {
  private lines: string[] = [];
  private count = 0;
  private readonly examples: BadRecord[] = [];
  private readonly parts: string[] = [];

  constructor(
    private readonly store: ArtefactStore,
    private readonly keyOf: (part: number) => string,
    private readonly partRecords = 4096,
    private readonly exampleCount = 5,
  ) {}

  async add(bad: BadRecord): Promise<void> {
    this.count++;
    if (this.examples.length < this.exampleCount) {
      const { raw: _raw, ...example } = bad;
      this.examples.push(example);
    }
    this.lines.push(JSON.stringify(bad) + '\n');
    if (this.lines.length >= this.partRecords) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.lines.length === 0) return;
    const key = this.keyOf(this.parts.length);
    await this.store.put(key, this.lines.join(''));
    this.parts.push(key);
    this.lines = [];
  }

  async close(): Promise<QuarantineSummary> {
    await this.flush();
    return { count: this.count, examples: this.examples, parts: [...this.parts] };
  }
}
