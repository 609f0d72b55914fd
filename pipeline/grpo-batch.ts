// Turns a verified step batch into GRPO items: one group per pivot state (its K samples), through pivotrl/grpo.
import { Sample, Turn, Verdict } from '../core/schemas';
import { getJsonl, type ArtefactStore } from '../store';
import { grpoItems, type SampledAction, type ScoredRollout } from '../pivotrl/grpo';
import { promptOf } from '../tasks/domains';
import { generatedText } from '../policy/schemas';
import type { GrpoItem } from '../policy/engine';

const sampleId = (s: { turnId: string; index: number }) => `${s.turnId}\u0000${s.index}`;

export async function buildGrpoItems(
  store: ArtefactStore,
  keys: { turns: string; samples: string; verdicts: string },
  leaveOneOut: boolean,
): Promise<GrpoItem[]> {
  const turns = await getJsonl(store, keys.turns, (v) => Turn.parse(v));
  const samples = await getJsonl(store, keys.samples, (v) => Sample.parse(v));
  const verdicts = await getJsonl(store, keys.verdicts, (v) => Verdict.parse(v));
  const reward = new Map(verdicts.map((v) => [sampleId(v), v.reward]));
  const groups: ScoredRollout[][] = [];
  const actions: SampledAction[] = [];
  for (const turn of turns) {
    const group = samples.filter((s) => s.turnId === turn.id).sort((a, b) => a.index - b.index);
    const prompt = promptOf(turn, turn.history);
    groups.push(group.map((s) => ({ id: sampleId(s), reward: reward.get(sampleId(s)) ?? null })));
    for (const s of group) {
      actions.push({
        rollout: sampleId(s),
        prompt,
        completion: generatedText({ text: s.text, stop: s.stop ?? null }),
        logprobs: s.logprobs,
      });
    }
  }
  return grpoItems(groups, actions, { leaveOneOut });
}
