// Custom search attributes: the one list. SQL visibility stores (the dev server's SQLite, PostgreSQL) allow
// at most 3 custom attributes per numeric type, so the batch reward is an Int percentage. The dev server registers these at start (deploy/), the
// campaign workflow upserts them, and ops query them in the Temporal UI or with `temporal workflow list`.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const PivotCampaign = defineSearchAttributeKey('PivotCampaign', SearchAttributeType.KEYWORD);
export const PivotStage = defineSearchAttributeKey('PivotStage', SearchAttributeType.KEYWORD);
export const PivotIteration = defineSearchAttributeKey('PivotIteration', SearchAttributeType.INT);
export const PivotRate = defineSearchAttributeKey('PivotRate', SearchAttributeType.DOUBLE);
export const PivotRewardPct = defineSearchAttributeKey('PivotRewardPct', SearchAttributeType.INT);
export const PivotInDomainAcc = defineSearchAttributeKey('PivotInDomainAcc', SearchAttributeType.DOUBLE);
export const PivotOodAcc = defineSearchAttributeKey('PivotOodAcc', SearchAttributeType.DOUBLE);

export const ALL_SEARCH_ATTRIBUTES = [
  PivotCampaign,
  PivotStage,
  PivotIteration,
  PivotRate,
  PivotRewardPct,
  PivotInDomainAcc,
  PivotOodAcc,
] as const;

const CLI_TYPE: Record<string, string> = {
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.INT]: 'Int',
  [SearchAttributeType.DOUBLE]: 'Double',
};

/** `--search-attribute NAME=Type` flags for `temporal server start-dev`. */
export function devServerSearchAttributeFlags(): string[] {
  return ALL_SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k.name}=${CLI_TYPE[k.type]}`]);
}
