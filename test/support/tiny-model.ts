// A tiny real policy model for unit tests: seeded weights, the character tokenizer, and a fresh optimiser state.
import * as tf from '@tensorflow/tfjs-core';
import { charTokenizer } from '../../policy/tokenizer';
import { initParams, makeModel, namedParams, paramsFrom } from '../../policy/model';
import { Trainee, zeroAdam } from '../../policy/train';
import type { ModelConfig } from '../../policy/schemas';

export const tok = charTokenizer();
export const TINY: ModelConfig = { vocab: tok.vocabSize, ctx: 64, layers: 2, width: 32, heads: 2 };

export function tinyModel(seed: number, config = TINY): Trainee {
  const named = initParams(config, seed);
  const model = makeModel(config, tok, paramsFrom(config, named));
  tf.dispose(Object.values(named));
  return { model, adam: zeroAdam(model), step: 0 };
}

export const disposeTrainee = (tr: Trainee) =>
  tf.dispose([...namedParams(tr.model.params).map(([, v]) => v), tr.model.headMask, ...tr.adam.m, ...tr.adam.v]);
