// The workflow that runs each method (`method` in the config).
import type { CampaignConfig } from '../core/config';
import { pivotCampaign } from './campaign';
import { e2eRlCampaign } from './e2e-rl';
import { sftCampaign } from './sft';

export const WORKFLOW_OF = { pivotrl: pivotCampaign, sft: sftCampaign, 'e2e-rl': e2eRlCampaign } as const;

export const workflowFor = (config: CampaignConfig) => WORKFLOW_OF[config.method ?? 'pivotrl'];
