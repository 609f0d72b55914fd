// The workflow code a CPU worker runs: its entry point, bundled once per process.
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { sdkLogger } from './log';
import { workerLogger } from './runtime';

/** The workflow bundle's entry point, for Worker.create({ workflowsPath }). */
export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

let bundle: Promise<WorkflowBundle> | undefined;

/**
 * The bundle of WORKFLOWS_PATH, built at the first call. Webpack's listing of the bundle's modules goes to the debug
 * level (the SDK's own bundling would log it at info); its errors stay errors.
 */
export function workflowBundle(): Promise<WorkflowBundle> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: sdkLogger(workerLogger().child({ name: 'bundler' }), { demoteInfo: true }),
  }).catch((err: unknown) => {
    bundle = undefined;
    throw err;
  });
  return bundle;
}
