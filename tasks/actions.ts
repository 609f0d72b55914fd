// How the policy's actions are delimited in every domain: where generation stops, and the action that ends an episode.

/** Ends every generated action (the sampler's stop string). */
export const ACTION_STOP = '\n';
/** The action by which the policy says the task is done, ending its episode. */
export const DONE_ACTION = 'done';
