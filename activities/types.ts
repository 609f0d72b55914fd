// Inputs of the activities: small records of keys and settings (never datasets or weights).
import type { StoreConfig } from '../store';
import type { GenerateOptions, GenerateSummary } from '../pipeline/generate';
import type { VerifyOptions, VerifySummary } from '../pipeline/verify';

export interface StageInput {
  campaignId: string;
  store: StoreConfig;
}

export interface GenerateInput extends StageInput, GenerateOptions {}
export type GenerateResult = GenerateSummary;

export interface VerifyInput extends StageInput, VerifyOptions {}
export type VerifyResult = VerifySummary;
