// Everything the worker bundles as workflow code.
export { pivotCampaign } from './campaign';
export { sftCampaign } from './sft';
export { e2eRlCampaign } from './e2e-rl';
export { pi0Workflow } from './pi0';
export { experimentWorkflow } from './experiment';
