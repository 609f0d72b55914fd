// Evaluation episodes of every domain: runs a held-out task's actions from its initial state, then its check.
import type Docker from 'dockerode';
import type { HeldoutTask } from '../core/schemas';
import type { EpisodeRunner } from '../pipeline/episodes';
import { TerminalEpisodeRunner } from './terminal';

export class DomainEpisodeRunner implements EpisodeRunner {
  private readonly terminal: TerminalEpisodeRunner;

  constructor(opts: { docker: Docker; image: string }) {
    this.terminal = new TerminalEpisodeRunner(opts);
  }

  replay(ref: HeldoutTask, actions: string[]) {
    switch (ref.domain) {
      case 'terminal':
        return this.terminal.replay(ref.task, actions);
    }
  }

  async close(): Promise<void> {
    await this.terminal.close();
  }
}
