import { fileURLToPath } from 'node:url';

/** The workflow bundle's entry point, for Worker.create({ workflowsPath }). */
export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
