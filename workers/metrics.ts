// The worker process's own gauges on the Runtime's meter; the campaigns' metrics come from their workflow
// (workflows/metrics.ts). Exported only when the Runtime has a metrics exporter (PIVOTRL_METRICS_ADDRESS).
import { Runtime } from '@temporalio/worker';
import { watchLiveSandboxes } from '../sandboxes/pool';

/** pivotrl_sandboxes_live follows the sandboxes this process's pools hold; returns its removal. */
export function gaugeLiveSandboxes(): () => void {
  const gauge = Runtime.instance().metricMeter.createGauge(
    'pivotrl_sandboxes_live',
    'int',
    '',
    'Sandbox containers held by this worker process (idle or in use)',
  );
  return watchLiveSandboxes((live) => gauge.set(live));
}
