// Where each artefact of a campaign lives in the store. One place, so every stage agrees.
const pad = (n: number, width = 5) => String(n).padStart(width, '0');

export const campaignKeys = (campaignId: string) => {
  const root = `campaigns/${campaignId}`;
  return {
    root,
    shardTurns: (shard: number) => `${root}/ingest/shard-${pad(shard)}.turns.jsonl`,
    shardPrompts: (shard: number) => `${root}/ingest/shard-${pad(shard)}.prompts.jsonl`,
    quarantine: (part: number) => `${root}/ingest/quarantine-${pad(part)}.jsonl`,
    ingestReport: `${root}/ingest/report.json`,
    heldout: `${root}/eval/heldout.jsonl`,
    ood: `${root}/eval/ood.jsonl`,
    oodPrompts: `${root}/eval/ood.prompts.jsonl`,
    /** The held-out expert states every evaluation scores (chosen once per campaign). */
    heldoutStates: { turns: `${root}/eval/heldout-states.turns.jsonl`, prompts: `${root}/eval/heldout-states.prompts.jsonl` },
    checkpoint: (step: number) => `${root}/checkpoints/step-${pad(step, 6)}`,
    profileSamples: (shard: number) => `${root}/profile/shard-${pad(shard)}.samples.jsonl`,
    profileVerdicts: (shard: number) => `${root}/profile/shard-${pad(shard)}.verdicts.jsonl`,
    profiles: `${root}/profile/profiles.jsonl`,
    pivots: `${root}/profile/pivots.turns.jsonl`,
    step: (step: number) => {
      const dir = `${root}/train/step-${pad(step, 6)}`;
      return {
        turns: `${dir}/turns.jsonl`,
        prompts: `${dir}/prompts.jsonl`,
        samples: `${dir}/samples.jsonl`,
        verdicts: `${dir}/verdicts.jsonl`,
      };
    },
    /** SFT with `train.sft`: the split of the training turns, the learning-rate probes, validation losses. */
    sft: {
      trainTurns: `${root}/sft/train.turns.jsonl`,
      valTurns: `${root}/sft/val.turns.jsonl`,
      probeBatch: (step: number) => ({
        turns: `${root}/sft/probe-batch/step-${pad(step, 6)}.turns.jsonl`,
        prompts: `${root}/sft/probe-batch/step-${pad(step, 6)}.prompts.jsonl`,
      }),
      probeCheckpoint: (lrIndex: number, step: number) => `${root}/sft/probe-lr${pad(lrIndex, 2)}/step-${pad(step, 6)}`,
      /** `label`: 'base', 'probe-lrNN' or 'step-NNNNNN'. */
      valLoss: (label: string) => `${root}/sft/val-loss/${label}.json`,
    },
    /** An end-to-end RL step: B tasks x G episodes, advanced one action per round, and their final rewards. */
    e2eStep: (step: number) => {
      const dir = `${root}/train/step-${pad(step, 6)}`;
      return {
        episodes: (t: number) => `${dir}/episodes-t${pad(t, 2)}.jsonl`,
        prompts: (t: number) => `${dir}/prompts-t${pad(t, 2)}.jsonl`,
        samples: (t: number) => `${dir}/samples-t${pad(t, 2)}.jsonl`,
        rewards: `${dir}/rewards.jsonl`,
      };
    },
    evaluation: (label: string) => {
      const dir = `${root}/eval/${label}`;
      return {
        episodes: (t: number) => `${dir}/episodes-t${pad(t, 2)}.jsonl`,
        prompts: (t: number) => `${dir}/prompts-t${pad(t, 2)}.jsonl`,
        samples: (t: number) => `${dir}/samples-t${pad(t, 2)}.jsonl`,
        oodSamples: `${dir}/ood.samples.jsonl`,
        oodItems: `${dir}/ood.items.jsonl`,
        oodDrift: `${dir}/ood.drift.jsonl`,
        /** The policy's actions at the held-out states (greedy, and K sampled), their verdicts, and the TurnEvalItem rows. */
        states: {
          greedySamples: `${dir}/states.greedy.samples.jsonl`,
          sampledSamples: `${dir}/states.sampled.samples.jsonl`,
          greedyVerdicts: `${dir}/states.greedy.verdicts.jsonl`,
          sampledVerdicts: `${dir}/states.sampled.verdicts.jsonl`,
          items: `${dir}/states.items.jsonl`,
        },
      };
    },
  };
};
