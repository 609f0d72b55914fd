// Evaluation shared by every method's workflow: in-domain episodes on held-out tasks (the policy acting in the
// sandbox, one action per round) and the out-of-domain suite, both greedy; with `evaluate.heldoutTurns`, also the
// policy's greedy and sampled actions at held-out expert states; with `evaluate.oodDrift`, the NLL of the OOD
// reference answers. Without them, issues exactly the commands the PivotRL campaign always issued (its recorded
// histories replay).
import type { CampaignConfig } from '../core/config';
import { seedOf } from '../core/rng';
import { campaignKeys } from '../pipeline/keys';
import type { Evaluation } from '../pipeline/campaign-state';
import type { PerTurnSummary } from '../pipeline/turn-eval';
import type { stageActivities } from './stages';

/** Actions per evaluation episode at most (the task's own maxTurns usually ends it first). */
export const MAX_EPISODE_ROUNDS = 32;

export type StageActivities = ReturnType<typeof stageActivities>;

export const samplingOf = (config: CampaignConfig) => (n: number, seed: number, temperature: number) => ({
  n,
  temperature,
  topP: config.policy.topP,
  maxTokens: config.policy.maxActionTokens,
  seed,
  sampler: config.policy.sampler,
});

/** The verify stage's input for `samples` of `turns`, with the campaign's verifier settings. */
export const verifyInputOf =
  (config: CampaignConfig, stage: { store: CampaignConfig['store']; campaignId: string }) =>
  (turns: string, samples: string, out: string) => ({
    ...stage,
    turns,
    samples,
    out,
    verifier: config.verifier,
    concurrency: config.verify.concurrency,
    actionTimeoutMs: config.verify.actionTimeoutMs,
    wordOverlap: config.verify.wordOverlap,
  });

type Round = Awaited<ReturnType<StageActivities['startEpisodes']>>;
type Generated = Awaited<ReturnType<StageActivities['generate']>>;

/**
 * Plays open episodes one action a round until every one has ended (or MAX_EPISODE_ROUNDS): the policy generates
 * round t's actions into `keys.samples(t)`, the sandboxes run them. Returns the last round.
 */
export async function playEpisodes(
  act: StageActivities,
  config: CampaignConfig,
  stage: { store: CampaignConfig['store']; campaignId: string },
  round: Round,
  o: {
    /** What the activity summaries start with. */
    what: string;
    checkpoint: string;
    keys: { samples: (t: number) => string; episodes: (t: number) => string; prompts: (t: number) => string };
    sampling: (t: number) => ReturnType<ReturnType<typeof samplingOf>>;
    generated: (gen: Generated, prompts: string) => void;
  },
): Promise<Round> {
  for (let t = 0; round.active > 0 && t < MAX_EPISODE_ROUNDS; t++) {
    const gen = await act.generate(`${o.what}: action ${t + 1} for ${round.active} open episode(s)`, {
      ...stage,
      checkpoint: o.checkpoint,
      prompts: round.prompts,
      out: o.keys.samples(t),
      sampling: o.sampling(t),
    });
    o.generated(gen, round.prompts);
    round = await act.stepEpisodes(`${o.what}: run action ${t + 1} in sandboxes`, {
      ...stage,
      episodes: round.episodes,
      samples: gen.out,
      concurrency: config.verify.concurrency,
      out: { episodes: o.keys.episodes(t + 1), prompts: o.keys.prompts(t + 1) },
    });
  }
  return round;
}

type OodInput = { items: string; prompts: string };

/** An evaluation, with or without the multi-turn episodes (`inDomain`). */
export interface Evaluate {
  (label: string, checkpoint: string, heldout: string, ood: OodInput): Promise<Evaluation>;
  (label: string, checkpoint: string, heldout: string, ood: OodInput, o: { episodes: boolean }): Promise<PartialEvaluation>;
}
export type PartialEvaluation = Omit<Evaluation, 'inDomain'> & Partial<Pick<Evaluation, 'inDomain'>>;

export function evaluator(
  act: StageActivities,
  config: CampaignConfig,
  campaignId: string,
  rolloutTurns: { evaluation: number },
): Evaluate {
  const keys = campaignKeys(campaignId);
  const stage = { store: config.store, campaignId };
  const sampling = samplingOf(config);
  const scoreStates = heldoutStatesEvaluator(act, config, campaignId, rolloutTurns);
  const episodesOf = async (label: string, checkpoint: string, heldout: string) => {
    const k = keys.evaluation(label);
    const limit = config.evaluate.heldoutTasks;
    let round = await act.startEpisodes(`evaluate ${label}: start ${limit} held-out episodes`, {
      ...stage,
      heldout,
      limit,
      out: { episodes: k.episodes(0), prompts: k.prompts(0) },
    });
    round = await playEpisodes(act, config, stage, round, {
      what: `evaluate ${label}`,
      checkpoint,
      keys: k,
      sampling: (t) => sampling(1, seedOf(config.seed, label, t), 0),
      generated: (gen) => void (rolloutTurns.evaluation += gen.samples),
    });
    return act.scoreEpisodes(`evaluate ${label}: final checks of the episodes`, {
      ...stage,
      episodes: round.episodes,
      concurrency: config.verify.concurrency,
    });
  };
  const evaluate = async (
    label: string,
    checkpoint: string,
    heldout: string,
    ood: OodInput,
    o = { episodes: true },
  ): Promise<PartialEvaluation> => {
    const k = keys.evaluation(label);
    const inDomain = o.episodes ? await episodesOf(label, checkpoint, heldout) : undefined;
    const oodGen = await act.generate(`evaluate ${label}: out-of-domain answers`, {
      ...stage,
      checkpoint,
      prompts: ood.prompts,
      out: k.oodSamples,
      sampling: sampling(1, seedOf(config.seed, label, 'ood'), 0),
    });
    const { oodItems, ...oodScore } = await act.scoreOod(`evaluate ${label}: score out-of-domain answers`, {
      ...stage,
      items: ood.items,
      samples: oodGen.out,
      out: k.oodItems,
    });
    // Only when asked for: recorded histories issued no such command.
    const oodDrift = config.evaluate.oodDrift
      ? await act.measureOodDrift(`evaluate ${label}: NLL of the out-of-domain reference answers`, {
          ...stage,
          checkpoint,
          items: ood.items,
          out: k.oodDrift,
        })
      : undefined;
    const perTurn = (config.evaluate.heldoutTurns ?? 0) > 0 ? await scoreStates(label, checkpoint, heldout) : undefined;
    return {
      checkpoint,
      ...(inDomain && { inDomain }),
      ood: oodScore,
      ...(oodItems && { oodItems }),
      ...(oodDrift && { oodDrift }),
      ...(perTurn && { perTurn }),
    };
  };
  return evaluate as Evaluate;
}

/**
 * Per-turn accuracy at held-out expert states: the same states for every checkpoint (chosen once from the held-out
 * tasks), one greedy and K sampled actions each (seeds from fixed labels, so the same checkpoint gives the same
 * numbers), verified in sandboxes with the campaign's verifier, then scored per item.
 */
function heldoutStatesEvaluator(
  act: StageActivities,
  config: CampaignConfig,
  campaignId: string,
  rolloutTurns: { evaluation: number },
): (label: string, checkpoint: string, heldout: string) => Promise<PerTurnSummary> {
  const keys = campaignKeys(campaignId);
  const stage = { store: config.store, campaignId };
  const sampling = samplingOf(config);
  const verifyInput = verifyInputOf(config, stage);
  const k = config.evaluate.turnSamples;
  return async (label, checkpoint, heldout) => {
    const out = keys.evaluation(label).states;
    const states = await act.selectHeldoutStates(`evaluate ${label}: choose ${config.evaluate.heldoutTurns} held-out expert states`, {
      ...stage,
      heldout,
      heldoutTurns: config.evaluate.heldoutTurns,
      out: keys.heldoutStates,
    });
    const runs = [
      { name: 'greedy', n: 1, temperature: 0, samples: out.greedySamples, verdicts: out.greedyVerdicts },
      { name: 'sampled', n: k, temperature: config.policy.temperature, samples: out.sampledSamples, verdicts: out.sampledVerdicts },
    ];
    for (const run of runs) {
      const gen = await act.generate(`evaluate ${label}: ${run.name} actions (${run.n} each) at ${states.states} held-out states`, {
        ...stage,
        checkpoint,
        prompts: states.prompts,
        out: run.samples,
        sampling: sampling(run.n, seedOf('heldout-states', run.name), run.temperature),
      });
      rolloutTurns.evaluation += gen.samples;
    }
    // One pass: each state is opened once for its greedy and its sampled actions.
    const [greedy, sampled] = runs;
    await act.verify(`evaluate ${label}: verify the greedy and ${k} sampled actions at ${states.states} states (${config.verifier})`, {
      ...verifyInput(states.turns, greedy.samples, greedy.verdicts),
      also: [{ samples: sampled.samples, out: sampled.verdicts }],
    });
    return act.scoreHeldoutStates(`evaluate ${label}: score held-out states`, {
      ...stage,
      turns: states.turns,
      greedy: out.greedyVerdicts,
      sampled: out.sampledVerdicts,
      turnSamples: k,
      out: out.items,
    });
  };
}

/** Whether to evaluate after `step` for the learning curve (never after the last step: the final evaluation does). */
export const curveDue = (config: CampaignConfig, step: number) => {
  const every = config.evaluate.every ?? 0; // configs recorded before `every` existed have none
  return every > 0 && step % every === 0 && step < config.train.steps;
};
