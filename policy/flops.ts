// The model's FLOPs (2 per multiply-add, matmuls and attention products only) for sampling and training: the
// numerator of the roofline fractions bench/policy.ts reports. Causal: position p attends p + 1 positions.
import type { ModelConfig } from './schemas';

/** One token's forward pass through every block, attending `attended` positions (projections, MLP, attention). */
export function blockFlops(c: ModelConfig, attended: number): number {
  const W = c.width;
  // q, k, v, proj: 4 W x W; MLP: W x 4W and 4W x W; attention: q k^T and p v over `attended` positions
  return c.layers * (2 * (4 * W * W + 8 * W * W) + 4 * W * attended);
}

/** One position's logits (tied head: W x vocab). */
export function headFlops(c: ModelConfig): number {
  return 2 * c.width * c.vocab;
}

/** Blocks over positions 0..n-1, each attending its causal prefix. */
function causalBlocksFlops(c: ModelConfig, n: number): number {
  return c.layers * 24 * c.width * c.width * n + c.layers * 4 * c.width * ((n * (n + 1)) / 2);
}

/**
 * Forward FLOPs to sample `newTokens` after a prompt of `promptTokens` (BOS included): the prefill of the prompt
 * but its last token, then one position per new token (the last new token is not fed back), logits per new token.
 */
export function sampleFlops(c: ModelConfig, promptTokens: number, newTokens: number): number {
  return causalBlocksFlops(c, promptTokens - 1 + newTokens) + newTokens * headFlops(c);
}

/**
 * FLOPs of one training step on a sequence (forward + backward = 3x forward): every position but the last goes
 * through the blocks, the completion positions through the head.
 */
export function trainFlops(c: ModelConfig, promptTokens: number, completionTokens: number): number {
  return 3 * (causalBlocksFlops(c, promptTokens - 1 + completionTokens) + completionTokens * headFlops(c));
}
