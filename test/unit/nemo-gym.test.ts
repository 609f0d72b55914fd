// NeMo-Gym pivot rows: import into candidate turns, profiling, export with the statistics, and back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Turn, type Verdict } from '../../core/schemas';
import { loadCampaignConfig } from '../../pipeline/config-file';
import { exportPivots } from '../../pipeline/export-pivots';
import { NemoGymPivotRow, NemoGymPivotRowInput } from '../../formats/nemo-gym';
import { BASH_TOOL } from '../../formats/nemo-gym-bash';
import { DEFAULT_AGENT, rowOfTurn, turnOfRow } from '../../formats/nemo-gym-turns';
import { ingest, type IngestOptions } from '../../pipeline/ingest';
import { campaignKeys } from '../../pipeline/keys';
import { selectPivots } from '../../pipeline/profile';
import { CandidateProfile } from '../../pivotrl/pivots';
import { BadRecord } from '../../pipeline/quarantine';
import { LocalStore, getJsonl, putJsonl } from '../../store';
import { generateOodSuite } from '../../tasks/ood';
import { terminalTurns } from '../../tasks/terminal/render';
import { generateTerminalSuite } from '../../tasks/terminal/suite';
import { sweTurns } from '../../tasks/swe/render';
import { generateSweSuite } from '../../tasks/swe/suite';
import { toolTurns } from '../../tasks/tool/render';
import { generateToolSuite } from '../../tasks/tool/suite';
import { tempDir } from '../../harness/temp-dir';

const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r) + '\n').join('');
const readRows = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as unknown);

/** Rewards of the K = 4 profiling samples of the g-th turn: all 1, all 0, mixed with one masked, mixed but easy. */
const REWARDS: (0 | 1 | null)[][] = [
  [1, 1, 1, 1],
  [0, 0, 0, 0],
  [1, 0, 0, null],
  [1, 1, 1, 0],
];

function fixture() {
  const dir = tempDir('pivotrl-nemo-gym-');
  const suite = generateTerminalSuite({ seed: 3, trainTasks: 6, heldoutTasks: 2 });
  const turns = suite.train.flatMap(terminalTurns);
  const task = suite.train[0].task;

  // Rows as PivotRL writes them (format named in the source) ...
  const exported = join(dir, 'exported.jsonl');
  writeFileSync(exported, jsonl(turns.map((t) => rowOfTurn(t))));
  // ... and rows as other tools write them (format detected): messages without `type`, content parts, reasoning,
  // null Responses options, no agent_ref; then rows PivotRL cannot use, each for one reason.
  const call = { type: 'function_call', call_id: 'fc_1', name: 'bash', arguments: '{"command":"ls"}', id: 'fc_1', status: 'completed' };
  const handRow = {
    uuid: 'hand-1',
    responses_create_params: {
      background: null,
      input: [
        { role: 'system', content: 'You are a terminal agent.' },
        { role: 'user', content: [{ type: 'input_text', text: task.goal }], type: 'message' },
        { id: 'rs_1', type: 'reasoning', summary: [{ type: 'summary_text', text: 'look first' }] },
        call,
        { type: 'function_call_output', call_id: 'fc_1', output: 'a.txt\n', id: null, status: null },
      ],
      metadata: null,
      parallel_tool_calls: false,
      tool_choice: 'auto',
      tools: [BASH_TOOL],
    },
    expected_action: { type: 'function_call', name: 'bash', arguments: '{"command":"cat a.txt"}' },
    pivotrl: { domain: 'terminal', task },
  };
  const params = handRow.responses_create_params;
  const foreign = join(dir, 'foreign.jsonl');
  writeFileSync(
    foreign,
    jsonl([
      handRow,
      { ...handRow, uuid: 'foreign-1', pivotrl: undefined }, // as NeMo-Gym writes it: a terminal turn replayed from an image
      { ...handRow, responses_create_params: { ...params, input: [...params.input.slice(0, 3), { ...params.input[4], call_id: 'fc_9' }] } },
      { ...handRow, expected_action: { type: 'function_call', name: 'python', arguments: '{}' } },
      { ...handRow, expected_action: { type: 'message', content: 'done' } },
      { ...handRow, pivotrl: { domain: 'terminal', task: { ...task, check: undefined } } },
      { ...handRow, expected_action: { type: 'function_call', name: 'bash', arguments: '{"command": ' } },
    ]),
  );
  const handTurn: Turn = {
    id: 'hand-1',
    trajectoryId: 'hand-1',
    index: 1,
    domain: 'terminal',
    task,
    history: [{ action: 'ls', output: 'a.txt\n' }],
    expert: 'cat a.txt',
  };
  const foreignTurn: Turn = {
    ...handTurn,
    id: 'foreign-1',
    trajectoryId: 'foreign-1',
    task: { kind: 'replay', id: 'foreign-1', template: 'imported-terminal', goal: task.goal, maxTurns: 8 },
  };

  const heldoutTasks = join(dir, 'heldout.jsonl');
  writeFileSync(heldoutTasks, jsonl(suite.heldout));
  const ood = join(dir, 'ood.jsonl');
  writeFileSync(ood, jsonl(generateOodSuite({ seed: 1, n: 3 })));
  const opts: IngestOptions = {
    campaignId: 'nemo',
    trajectories: [{ path: exported, format: 'nemo-gym' }, foreign],
    heldoutTasks,
    ood,
    shardSize: 5,
    heldoutLimit: 10,
    oodLimit: 10,
  };
  return { dir, exported, foreign, turns: [...turns, handTurn, foreignTurn], opts, store: new LocalStore(join(dir, 'store')) };
}

test('NeMo-Gym rows -> ingest -> profile -> export: rows keep the row contract and carry K, rewards, mu and var', async () => {
  const f = fixture();
  const result = await ingest(f.store, f.opts);

  // Ingest: every usable row is one turn, as it was; every unusable one is reported with its field.
  assert.deepEqual(
    result.sources.map((s) => [s.format, s.records, s.badRecords]),
    [
      ['nemo-gym', f.turns.length - 2, 0],
      ['nemo-gym', 2, 5],
    ],
  );
  const shards = await Promise.all(result.shards.map((s) => getJsonl(f.store, s.turns, (v) => Turn.parse(v))));
  assert.deepEqual(shards.flat(), f.turns);
  const bad = (await Promise.all(result.quarantine.map((k) => getJsonl(f.store, k, (v) => BadRecord.parse(v))))).flat();
  assert.deepEqual(
    bad.map((b) => [b.line, b.field]),
    [
      [3, 'responses_create_params.input.3.call_id'],
      [4, 'expected_action.name'],
      [5, 'expected_action.type'],
      [6, 'pivotrl.task.check'],
      [7, 'expected_action.arguments'],
    ],
  );
  assert.match(bad[1].reason, /tool 'python' is not among responses_create_params.tools/);
  assert.ok(bad.every((b) => b.file === f.foreign));

  // Profile: K = 4 verdicts per turn (a fake verifier), then the pivot filter.
  const keys = campaignKeys(f.opts.campaignId);
  let g = 0;
  for (const [i, shard] of shards.entries()) {
    const verdicts: Verdict[] = shard.flatMap((turn) =>
      REWARDS[g++ % REWARDS.length].map((reward, index) => ({
        turnId: turn.id,
        index,
        reward,
        reason: reward === null ? 'infrastructure' : reward ? 'equivalent' : 'different_files',
        detail: '',
      })),
    );
    await putJsonl(f.store, keys.profileVerdicts(i), verdicts);
  }
  const selection = await selectPivots(
    f.store,
    result.shards.map((s, i) => ({ turns: s.turns, verdicts: keys.profileVerdicts(i) })),
    0.6,
    { profiles: keys.profiles, pivots: keys.pivots },
  );
  const expectedPivots = f.turns.filter((_, i) => i % REWARDS.length === 2);
  assert.equal(selection.summary.pivots, expectedPivots.length);

  // Export: one row per pivot, valid against the contract, with the statistics.
  const out = join(f.dir, 'pivots.jsonl');
  assert.deepEqual(await exportPivots(f.store, f.opts.campaignId, out), { out, rows: expectedPivots.length });
  const rows = readRows(out).map((r) => NemoGymPivotRow.parse(r));
  assert.deepEqual(
    rows.map((r) => r.uuid),
    expectedPivots.map((t) => t.id),
  );
  const profiles = new Map((await getJsonl(f.store, keys.profiles, (v) => CandidateProfile.parse(v))).map((p) => [p.turnId, p]));
  for (const row of rows) {
    assert.deepEqual(row.agent_ref, { type: 'responses_api_agents', name: DEFAULT_AGENT });
    assert.equal(row.responses_create_params.tool_choice, 'auto');
    const { turnId: _, ...stats } = profiles.get(row.uuid!)!;
    assert.deepEqual(row.pivotrl?.profile, { k: 4, ...stats });
    assert.deepEqual(stats.rewards, [1, 0, 0, null]);
    assert.ok(Math.abs(stats.mu - 1 / 3) < 1e-12 && Math.abs(stats.var - 2 / 9) < 1e-12);
  }

  // And back: the exported rows ingest to the same turns.
  const again = await ingest(new LocalStore(join(f.dir, 'store2')), { ...f.opts, campaignId: 'again', trajectories: [out] });
  const reingested = await Promise.all(
    again.shards.map((s) => getJsonl(new LocalStore(join(f.dir, 'store2')), s.turns, (v) => Turn.parse(v))),
  );
  assert.deepEqual(reingested.flat(), expectedPivots);

  // The CLI does the same export, with the agent block named.
  const cliOut = join(f.dir, 'cli-pivots.jsonl');
  const cli = (campaign: string) =>
    spawnSync(
      'npx',
      ['tsx', 'cli/pivotrl.ts', 'export-pivots', '--store', f.store.root, '--campaign', campaign, '--out', cliOut, '--agent', 'my_agent'],
      {
        encoding: 'utf8',
      },
    );
  const ok = cli(f.opts.campaignId);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, new RegExp(`wrote ${expectedPivots.length} pivot rows to ${cliOut}`));
  assert.deepEqual(
    readRows(cliOut).map((r) => NemoGymPivotRow.parse(r).agent_ref.name),
    expectedPivots.map(() => 'my_agent'),
  );
  const missing = cli('no-such-campaign');
  assert.equal(missing.status, 2); // bad input: no such campaign in the store
  assert.match(missing.stderr, /campaign no-such-campaign: .*pivots\.turns\.jsonl is not in local:.*has its profiling finished\?/);
});

test('tool-use and SWE turns map to rows and back: tool calls, parallel batches, replies, bash edits, the tools offered', () => {
  const tool = generateToolSuite({ seed: 2, trainTasks: 8, heldoutTasks: 0 }).train.flatMap(toolTurns);
  const swe = generateSweSuite({ seed: 2, trainTasks: 4, heldoutTasks: 0 }).train.flatMap(sweTurns);
  const kinds = new Set<string>();
  for (const turn of [...tool, ...swe]) {
    const row = rowOfTurn(turn);
    kinds.add(`${turn.domain}:${row.expected_action.type}`);
    const offered = row.responses_create_params.tools.map((t) => t.name);
    assert.deepEqual(offered, turn.domain === 'tool' ? turn.task.tools.map((t) => t.function.name) : ['bash']);
    const back = turnOfRow(NemoGymPivotRowInput.parse(JSON.parse(JSON.stringify(row))), 'unused');
    assert.deepEqual(back, turn);
  }
  assert.deepEqual([...kinds].sort(), ['swe:function_call', 'tool:function_call', 'tool:function_call_batch', 'tool:message']);
});

test('a config names the format per input file; plain paths still mean "detect"', () => {
  const dir = tempDir('pivotrl-nemo-config-');
  const path = join(dir, 'campaign.json');
  const config = (trajectories: unknown[]) => ({
    name: 'formats',
    data: { trajectories, heldoutTasks: 'h.jsonl', ood: 'o.jsonl' },
    policy: { base: 'models/pi0' },
    profile: {},
    train: {},
    evaluate: {},
  });
  writeFileSync(path, JSON.stringify(config(['chat.jsonl', { path: 'rows.jsonl', format: 'nemo-gym' }])));
  assert.deepEqual(loadCampaignConfig(path).data.trajectories, [
    join(dir, 'chat.jsonl'),
    { path: join(dir, 'rows.jsonl'), format: 'nemo-gym' },
  ]);
  writeFileSync(path, JSON.stringify(config([{ path: 'rows.jsonl', format: 'parquet' }])));
  assert.throws(() => loadCampaignConfig(path), /data\.trajectories\.0/);
});
