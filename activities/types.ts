// Inputs of the activities: small records of keys and settings (never datasets or weights).
import type { StoreConfig } from '../store';
import type { VerifierKind } from '../core/schemas';
import type { SamplerConfig } from '../policy/schemas';

export interface StageInput {
  campaignId: string;
  store: StoreConfig;
}

export interface SamplingSettings {
  n: number;
  temperature: number;
  topP: number;
  /** Generation limit; absent: each prompt row's own (its domain's), or DEFAULT_MAX_TOKENS. */
  maxTokens?: number;
  seed: number;
  /** Where the samples come from (absent: the local engine). */
  sampler?: SamplerConfig;
}

export interface GenerateInput extends StageInput {
  checkpoint: string;
  prompts: string;
  out: string;
  sampling: SamplingSettings;
}

export interface GenerateResult {
  out: string;
  samples: number;
  tokens: number;
  backend: string;
  /** Chunks read back from an earlier attempt instead of generated again (0 when nothing was interrupted). */
  resumedChunks?: number;
}

export interface VerifyInput extends StageInput {
  turns: string;
  samples: string;
  out: string;
  verifier: VerifierKind;
  concurrency: number;
  actionTimeoutMs: number;
  /** Absent in inputs recorded before it existed: the verifier's default applies. */
  wordOverlap?: number;
}

export interface VerifyResult {
  out: string;
  samples: number;
  rewarded: number;
  masked: number;
  meanReward: number;
  /** Share of groups (turns) whose verified rewards are all equal: no GRPO signal there. */
  zeroVarianceGroups: number;
  byReason: Record<string, number>;
  /** Parts of turns read back from an earlier attempt instead of verified again (0 when nothing was interrupted). */
  resumedParts?: number;
}
