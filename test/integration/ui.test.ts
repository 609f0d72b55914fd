// Ops find a campaign in the Temporal Web UI by its search attributes and read its current details there. A dev
// server with the UI on, a real tiny campaign (real workers, Docker, tensors), headless Debian chromium driven by
// playwright-core. Screenshots go to .pivotrl/ui-*.png (git-ignored).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createCpuWorker, createGpuWorker, type OwnedWorker } from '../../workers/build';
import { pauseUpdate, progressQuery, stopUpdate } from '../../workflows/campaign';
import { campaignSummary } from '../../workflows/details';
import { startTestTemporal, type TestTemporal } from '../../harness/temporal';
import { requireDocker } from '../../harness/docker';
import { tinyCampaign } from '../../harness/campaign';
import { startCampaign } from '../../cli/campaigns';
import { currentDetails, launchChromium, requireChromium } from '../support/browser';

const SHOTS = resolve(import.meta.dirname, '../../.pivotrl');
const ID = 'ui-campaign';

let temporal: TestTemporal;
let browser: Browser;
let workers: OwnedWorker[] = [];
let running: Promise<unknown>;

before(async () => {
  requireChromium();
  await requireDocker();
  temporal = await startTestTemporal({ ui: true });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  for (const w of workers) w.worker.shutdown();
  await running?.catch(() => {});
  await Promise.all(workers.map((w) => w.close()));
  await temporal?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function shot(page: Page, name: string): Promise<string> {
  mkdirSync(SHOTS, { recursive: true });
  const path = join(SHOTS, name);
  await page.screenshot({ path });
  return path;
}

test(
  'a campaign is found by its search attributes in the Web UI, and its page shows its current details',
  { timeout: 10 * 60_000 },
  async (t) => {
    const { config } = tinyCampaign({ address: temporal.address, queue: 'ui', steps: 2 });
    const connection = temporal.env.nativeConnection;
    workers = [
      await createCpuWorker({ connection, namespace: 'default', taskQueue: config.temporal.cpuQueue }),
      await createGpuWorker({ connection, namespace: 'default', taskQueue: config.temporal.gpuQueue, allowCpu: true }),
    ];
    running = Promise.all(workers.map((w) => w.worker.run()));

    const handle = await startCampaign(temporal.env.client, config, ID);
    // Ops pause it: it profiles, selects its pivots and holds before the first update step.
    await handle.executeUpdate(pauseUpdate, { args: [true] });
    for (let i = 0; !(await handle.query(progressQuery)).now?.startsWith('paused'); i++) {
      assert.ok(i < 1200, 'the campaign reaches its first step boundary within 2 minutes');
      await sleep(100);
    }

    const ui = `http://127.0.0.1:${temporal.uiPort}`;
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    try {
      // The workflows list, filtered by the campaign's search attributes (visibility is eventually consistent).
      const query = `PivotStage="update" AND PivotCampaign="${ID}"`;
      const row = page.getByRole('link', { name: ID, exact: true });
      for (let i = 0; i < 20 && !(await row.isVisible()); i++) {
        await page.goto(`${ui}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
        await row.waitFor({ timeout: 3000 }).catch(() => {});
      }
      assert.ok(await row.isVisible(), `the list filtered by ${query} shows the campaign`);
      assert.match(await page.innerText('main'), /^1\s+Workflow\b/m, 'exactly one workflow matches');
      t.diagnostic(`screenshot: ${await shot(page, 'ui-campaign-list.png')}`);

      // Its page: the activities carry their summaries; the current details say where the campaign is.
      await row.click();
      await page.waitForURL(/\/workflows\/ui-campaign\/[^/]+\/history/);
      await page.getByText('select pivots: var > 0').first().waitFor({ timeout: 15_000 });
      const text = await currentDetails(page, 'paused before step 1');
      t.diagnostic(`screenshot: ${await shot(page, 'ui-campaign-details.png')}`);
      assert.match(text, /PivotRL campaign ui-campaign — stage update, step 0\/2 — PAUSED/);
      assert.match(text, /now: paused before step 1/);
      assert.match(text, /pivots: \d+ of \d+ candidates/);
      assert.match(text, /accuracy in-domain \/ out-of-domain: before [\d.]+% \/ [\d.]+%, after —/);
      assert.match(text, new RegExp(campaignSummary(config).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      assert.match(await page.innerText('main'), /profile shard 1\/\d+: verify \d+ samples \(functional\)/);
    } finally {
      await page.close();
    }

    // Ops stop it: it ends at the step boundary, evaluates, and says so.
    await handle.executeUpdate(stopUpdate, { args: [] });
    const result = await handle.result();
    assert.equal(result.stage, 'stopped');
    assert.equal(result.step, 0);
  },
);
