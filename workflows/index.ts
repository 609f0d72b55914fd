// Everything the worker bundles as workflow code.
export { pivotCampaign } from './campaign';
export { sftCampaign } from './sft';
export { e2eRlCampaign } from './e2e-rl';
