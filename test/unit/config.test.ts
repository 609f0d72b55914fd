import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, assertInputsExist, loadCampaignConfig } from '../../pipeline/config-file';
import { sourcePath } from '../../formats/source';
import { tempDir } from '../../harness/temp-dir';

const minimal = {
  name: 'unit',
  data: { trajectories: ['t.jsonl'], heldoutTasks: 'h.jsonl', ood: 'o.jsonl' },
  policy: { base: 'models/pi0' },
  profile: {},
  train: {},
  evaluate: {},
};

function write(config: unknown): string {
  const dir = tempDir('pivotrl-config-');
  const path = join(dir, 'campaign.json');
  writeFileSync(path, JSON.stringify(config));
  return path;
}

test('a minimal config gets the design defaults and absolute paths', () => {
  const path = write(minimal);
  const c = loadCampaignConfig(path);
  assert.equal(c.profile.k, 8);
  assert.equal(c.profile.lambdaDiff, 0.6);
  assert.equal(c.train.batchPivots, 64);
  assert.equal(c.train.groupSize, 16);
  assert.equal(c.train.clipEps, 0.2);
  assert.equal(c.train.klBeta, 0);
  assert.equal(c.verifier, 'functional');
  assert.ok(sourcePath(c.data.trajectories[0]).startsWith('/'));
  assert.ok(c.policy.base.endsWith('/models/pi0'));
});

test('an invalid config is rejected naming the file and every bad field', () => {
  const path = write({ ...minimal, profile: { k: 1, lambdaDiff: 2 }, verifier: 'fuzzy' });
  assert.throws(
    () => loadCampaignConfig(path),
    (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, new RegExp(`${path}: profile\\.k:`));
      assert.match(err.message, /profile\.lambdaDiff:/);
      assert.match(err.message, /verifier:/);
      return true;
    },
  );
});

test('unknown keys are refused, so a typo does not silently use a default', () => {
  const path = write({ ...minimal, trian: { steps: 3 } });
  assert.throws(() => loadCampaignConfig(path), /trian|Unrecognized/);
});

test('a config that is not JSON names the file', () => {
  const dir = tempDir('pivotrl-config-');
  const path = join(dir, 'bad.json');
  writeFileSync(path, '{ name: ');
  assert.throws(() => loadCampaignConfig(path), new RegExp(`${path}: cannot read config`));
});

test('a config whose input files are missing is refused before anything starts, naming the field', () => {
  const path = write(minimal);
  const c = loadCampaignConfig(path);
  assert.throws(
    () => assertInputsExist(c, path),
    (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /data\.trajectories\.0: no such file .*t\.jsonl/);
      assert.match(err.message, /policy\.base: no such file .*model\.json/);
      return true;
    },
  );
});

test('policy.sampler defaults to the local engine; a served one needs train.steps = 0 and a key variable name, not a key', () => {
  assert.deepEqual(loadCampaignConfig(write(minimal)).policy.sampler, { kind: 'local' });
  const served = { kind: 'openai', baseUrl: 'http://127.0.0.1:8000/v1', model: 'pi0', apiKeyEnv: 'PIVOTRL_SAMPLER_TEAM_KEY' };
  const ok = loadCampaignConfig(write({ ...minimal, policy: { base: 'models/pi0', sampler: served }, train: { steps: 0 } }));
  assert.deepEqual(ok.policy.sampler, { ...served, maxConcurrency: 4, timeoutMs: 60_000, maxAttempts: 5, promptFormat: 'chat' });
  const bad = write({ ...minimal, policy: { base: 'models/pi0', sampler: { ...served, promptFormat: 'xml' } }, train: { steps: 0 } });
  assert.throws(() => loadCampaignConfig(bad), new RegExp(`${bad}: policy\\.sampler\\.promptFormat`));

  const path = write({ ...minimal, policy: { base: 'models/pi0', sampler: served } });
  assert.throws(
    () => loadCampaignConfig(path),
    (err: Error) => err instanceof ConfigError && err.message.includes(`${path}: train.steps: must be 0`),
  );
  const withKey = write({
    ...minimal,
    policy: { base: 'models/pi0', sampler: { ...served, apiKeyEnv: 'sk-live-123' } },
    train: { steps: 0 },
  });
  assert.throws(() => loadCampaignConfig(withKey), /policy\.sampler\.apiKeyEnv: the NAME of an environment variable/);
  const noUrl = write({ ...minimal, policy: { base: 'models/pi0', sampler: { ...served, baseUrl: 'localhost' } }, train: { steps: 0 } });
  assert.throws(() => loadCampaignConfig(noUrl), /policy\.sampler\.baseUrl/);
});

test('evaluate.oodDrift is off by default, a boolean, and refused with a served policy (no weights to score with)', () => {
  assert.equal(loadCampaignConfig(write(minimal)).evaluate.oodDrift, false);
  assert.equal(loadCampaignConfig(write({ ...minimal, evaluate: { oodDrift: true } })).evaluate.oodDrift, true);
  assert.throws(() => loadCampaignConfig(write({ ...minimal, evaluate: { oodDrift: 'yes' } })), /evaluate\.oodDrift/);
  const served = { kind: 'openai', baseUrl: 'http://127.0.0.1:8000/v1', model: 'pi0', apiKeyEnv: 'PIVOTRL_SAMPLER_TEAM_KEY' };
  const path = write({ ...minimal, policy: { base: 'models/pi0', sampler: served }, train: { steps: 0 }, evaluate: { oodDrift: true } });
  assert.throws(() => loadCampaignConfig(path), /evaluate\.oodDrift: must be false when policy\.sampler\.kind is 'openai'/);
});

test('a served sampler reads its key only from a PIVOTRL_SAMPLER_* variable, and sends it only over https or to loopback', () => {
  const sampler = (o: object) => ({
    ...minimal,
    policy: { base: 'models/pi0', sampler: { kind: 'openai', model: 'pi0', ...o } },
    train: { steps: 0 },
  });
  const refused = (o: object, message: RegExp) => assert.throws(() => loadCampaignConfig(write(sampler(o))), message);
  const https = 'https://llm.example.com/v1';
  refused({ baseUrl: https, apiKeyEnv: 'AWS_SECRET_ACCESS_KEY' }, /policy\.sampler\.apiKeyEnv: must start with PIVOTRL_SAMPLER_/);
  refused({ baseUrl: https, apiKeyEnv: 'PIVOTRL_SAMPLER_' }, /policy\.sampler\.apiKeyEnv: must start with PIVOTRL_SAMPLER_/);
  refused({ baseUrl: 'http://example.com/v1' }, /policy\.sampler\.baseUrl: must be https unless its host is loopback/);
  refused({ baseUrl: 'http://127.0.0.1.example.com/v1' }, /policy\.sampler\.baseUrl: must be https/);
  for (const baseUrl of [https, 'http://127.0.0.1:8000/v1', 'http://127.8.9.10/v1', 'http://localhost:8000/v1', 'http://[::1]:8000/v1']) {
    assert.equal(loadCampaignConfig(write(sampler({ baseUrl, apiKeyEnv: 'PIVOTRL_SAMPLER_KEY' }))).policy.sampler.kind, 'openai', baseUrl);
  }
});

test('every size and time of a config has an upper bound; the shipped configs stay within them', () => {
  const over = {
    ...minimal,
    data: { ...minimal.data, shardSize: 1e9 },
    profile: { k: 1e6 },
    train: { steps: 1e9, batchPivots: 1e9, groupSize: 1e6 },
    evaluate: { heldoutTasks: 1e9, oodItems: 1e9, every: 1e9 },
    verify: { concurrency: 1e6, actionTimeoutMs: 2 ** 31 },
    temporal: { stepsPerRun: 1e9 },
  };
  const path = write(over);
  const fields = [
    'data.shardSize',
    'profile.k',
    'train.steps',
    'train.batchPivots',
    'train.groupSize',
    'evaluate.heldoutTasks',
    'evaluate.oodItems',
    'evaluate.every',
    'verify.concurrency',
    'verify.actionTimeoutMs',
    'temporal.stepsPerRun',
  ];
  assert.throws(
    () => loadCampaignConfig(path),
    (err: Error) => fields.every((f) => err.message.includes(`${path}: ${f}: Too big`)) || assert.fail(err.message),
  );
  loadCampaignConfig(join(import.meta.dirname, '../../configs/demo.json'));
});
