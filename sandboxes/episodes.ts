// Evaluation episodes of every domain: runs a held-out task's actions from its initial state, then its check.
import type { HeldoutTask } from '../core/schemas';
import type { EpisodeRunner } from '../tasks/episode-runner';
import { TerminalEpisodeRunner, type ReplayResult } from './terminal';
import type { Memo } from '../core/memo';
import { SweEpisodeRunner } from './swe';
import { toolEpisodeRunner } from '../tasks/tool/episode';
import type { DockerClient } from './engine';

export class DomainEpisodeRunner implements EpisodeRunner {
  private readonly terminal: TerminalEpisodeRunner;
  private readonly swe: SweEpisodeRunner;

  /** `image`: the terminal sandbox image; `sweImage`: the SWE one (default pivotrl/swe:latest). */
  constructor(opts: { docker: DockerClient; image: string; sweImage?: string; memo?: Memo<ReplayResult> }) {
    this.terminal = new TerminalEpisodeRunner(opts);
    this.swe = new SweEpisodeRunner({ docker: opts.docker, image: opts.sweImage });
  }

  replay(ref: HeldoutTask, actions: string[]) {
    switch (ref.domain) {
      case 'terminal':
        return this.terminal.replay(ref.task, actions);
      case 'swe': // final check: every fail-to-pass and pass-to-pass test passes
        return this.swe.replay(ref.task, actions);
      case 'tool': // the simulated backend runs in-process: no sandbox
        return toolEpisodeRunner.replay(ref, actions);
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.terminal.close(), this.swe.close()]);
  }
}
