// Everything the worker bundles as workflow code.
export { pivotCampaign } from './campaign';
