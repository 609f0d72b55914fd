// Turns a verified step batch into GRPO items: one group per pivot state, advantages normalised within it.
import { Sample, Turn, Verdict } from '../core/schemas';
import { getJsonl, type ArtefactStore } from '../store';
import { groupAdvantages } from '../pivotrl/grpo';
import { promptOf } from '../tasks/domains';
import { generatedText } from '../policy/schemas';
import type { GrpoItem } from '../policy/engine';

export async function buildGrpoItems(
  store: ArtefactStore,
  keys: { turns: string; samples: string; verdicts: string },
  leaveOneOut: boolean,
): Promise<GrpoItem[]> {
  const turns = await getJsonl(store, keys.turns, (v) => Turn.parse(v));
  const samples = await getJsonl(store, keys.samples, (v) => Sample.parse(v));
  const verdicts = await getJsonl(store, keys.verdicts, (v) => Verdict.parse(v));
  const reward = new Map(verdicts.map((v) => [`${v.turnId}\u0000${v.index}`, v.reward]));
  const items: GrpoItem[] = [];
  for (const turn of turns) {
    const group = samples.filter((s) => s.turnId === turn.id).sort((a, b) => a.index - b.index);
    const advantages = groupAdvantages(
      group.map((s) => reward.get(`${s.turnId}\u0000${s.index}`) ?? null),
      { leaveOneOut },
    );
    const prompt = promptOf(turn, turn.history);
    group.forEach((s, i) => {
      const advantage = advantages[i];
      if (advantage === null) return; // masked: infrastructure failed, no gradient
      // The exact generated string, so that its tokens line up with the sampling log-probabilities.
      items.push({ prompt, completion: generatedText({ text: s.text, stop: s.stop ?? null }), advantage, oldLogprobs: s.logprobs });
    });
  }
  return items;
}
