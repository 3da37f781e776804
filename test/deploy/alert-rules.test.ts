import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { skipNote, useServers } from '../helpers/servers.js';
import { run, tools } from './deploy-tools.js';
import { readRuleGroups, RULE_FILES } from './flts-series.js';

const deployTools = await useServers('deploy-tools');

/** An input series of a promtool unit test: a series selector and promtool's expanding notation ('0+1x10', '_x5 1x60'). */
type Input = [series: string, values: string];

interface AlertCase {
  name: string;
  input: Input[];
  /** Alert name -> minute of evaluation -> the label sets expected to fire then (severity and alertname added). */
  expect: Record<string, Record<number, Record<string, string>[]>>;
}

const SERVE = 'job="flts-serve"';
const DAEMON = 'job="flts-daemon"';
const PREDICT = `${SERVE},instance="serve-1:8000",route="/predict",method="POST"`;
const READYZ = `${SERVE},instance="serve-1:8000",route="/readyz",method="GET"`;

/**
 * What the rules must do with the series flts exports, as promtool unit tests over one-minute samples. Each case is a
 * scenario an operator would recognise; the expected label sets are exactly the alerts that must fire, no more.
 */
const CASES: AlertCase[] = [
  {
    name: 'a replica that serves an older model because the promoted one failed to load',
    input: [[`flts_model_degraded{${SERVE},instance="serve-1:8000"}`, '0 0 1x30'], [`flts_model_degraded{${SERVE},instance="serve-2:8000"}`, '0x32']],
    expect: { FltsServeModelDegraded: { 5: [], 9: [{ job: 'flts-serve', instance: 'serve-1:8000' }] } },
  },
  {
    name: 'one replica without a model among ready ones, then none ready at all',
    input: [[`flts_model_ready{${SERVE},instance="serve-1:8000"}`, '0x40'], [`flts_model_ready{${SERVE},instance="serve-2:8000"}`, '1x15 0x25']],
    expect: {
      FltsServeNoModelReady: { 9: [], 12: [{ job: 'flts-serve', instance: 'serve-1:8000' }], 30: [{ job: 'flts-serve', instance: 'serve-1:8000' }, { job: 'flts-serve', instance: 'serve-2:8000' }] },
      FltsServeNoReplicaReady: { 12: [], 22: [{ job: 'flts-serve' }] },
    },
  },
  {
    name: 'probes answered 503 by /readyz while a model loads are no errors',
    input: [[`flts_http_requests_total{${READYZ},status="503"}`, '0+60x30'], [`flts_http_requests_total{${PREDICT},status="200"}`, '0+10x30']],
    expect: { FltsServeErrorRatioHigh: { 25: [] } },
  },
  {
    name: 'one prediction in ten answered 500',
    input: [[`flts_http_requests_total{${PREDICT},status="500"}`, '0+1x30'], [`flts_http_requests_total{${PREDICT},status="200"}`, '0+9x30']],
    expect: { FltsServeErrorRatioHigh: { 10: [], 20: [{ job: 'flts-serve' }] } },
  },
  {
    name: 'predictions that take between 1 and 2 s',
    input: [
      ...['0.5', '1'].map((le): Input => [`flts_http_request_duration_seconds_bucket{${SERVE},instance="serve-1:8000",route="/predict",le="${le}"}`, '0x30']),
      ...['2', '+Inf'].map((le): Input => [`flts_http_request_duration_seconds_bucket{${SERVE},instance="serve-1:8000",route="/predict",le="${le}"}`, '0+10x30']),
    ],
    expect: { FltsServeLatencyHigh: { 10: [], 20: [{ job: 'flts-serve' }] } },
  },
  {
    name: 'serve replicas and daemons that Prometheus cannot reach',
    input: [[`up{${SERVE},instance="serve-1:8000"}`, '1 0x20'], [`up{${DAEMON},instance="batch:9100"}`, '1 1 0x20'], [`up{${DAEMON},instance="trainer:9100"}`, '1x22']],
    expect: { FltsServeReplicaDown: { 4: [], 8: [{ job: 'flts-serve', instance: 'serve-1:8000' }] }, FltsDaemonDown: { 8: [{ job: 'flts-daemon', instance: 'batch:9100' }] } },
  },
  {
    name: 'a daemon whose broker does not answer',
    input: [[`flts_daemon_ready{${DAEMON},instance="batch:9100",role="batch"}`, '1 1 0x20'], [`flts_daemon_ready{${DAEMON},instance="promoter:9100",role="promoter"}`, '1x22']],
    expect: { FltsDaemonNotReady: { 8: [], 14: [{ job: 'flts-daemon', instance: 'batch:9100', role: 'batch' }] } },
  },
  {
    name: 'a claim waiting an hour for the first promotion, then claims piling up before two batch replicas, while a trainer holds one claim for hours',
    input: [
      // Both batch replicas report the lag of their one group; the trainer's lag stays at 1 while it trains.
      [`flts_daemon_consumer_lag{${DAEMON},instance="batch-1:9100",group="batch-inference",topic="inference-data",partition="0"}`, '1x60 2+1x60'],
      [`flts_daemon_consumer_lag{${DAEMON},instance="batch-2:9100",group="batch-inference",topic="inference-data",partition="0"}`, '1x60 2+1x60'],
      [`flts_daemon_consumer_lag{${DAEMON},instance="trainer:9100",group="train-lstm",topic="training-data",partition="0"}`, '1x121'],
    ],
    expect: { FltsConsumerLagGrowing: { 55: [], 85: [], 100: [{ job: 'flts-daemon', group: 'batch-inference', topic: 'inference-data' }] } },
  },
  {
    name: 'a trainer and a serve replica whose consumers crash through a 20-minute broker outage, and a batch daemon whose consumer crashes once',
    input: [
      [`flts_bus_consumer_crashing{${DAEMON},instance="trainer:9100",group="train-lstm"}`, '0x5 1x20 0x20'],
      [`flts_bus_consumer_crashing{${DAEMON},instance="batch:9100",group="batch-inference"}`, '0x5 1x3 0x37'],
      // A serve replica's promotion subscription crashing through the same outage, from a minute later.
      [`flts_bus_consumer_crashing{${SERVE},instance="serve-1:8000",group="serve-promotions"}`, '0x6 1x20 0x19'],
    ],
    expect: {
      FltsBusConsumerCrashing: {
        10: [],
        20: [{ job: 'flts-daemon', instance: 'trainer:9100', group: 'train-lstm' }, { job: 'flts-serve', instance: 'serve-1:8000', group: 'serve-promotions' }],
        35: [],
      },
    },
  },
  {
    name: 'a serve replica that never reaches the brokers until minute 20, beside one that follows, one whose consumer crashes for 5 minutes, and one whose consumer crashes for good',
    input: [
      [`flts_serve_following_promotions{${SERVE},instance="serve-1:8000",topic="model-selected"}`, '0x20 1x20'],
      [`flts_serve_following_promotions{${SERVE},instance="serve-2:8000",topic="model-selected"}`, '1x40'],
      [`flts_serve_following_promotions{${SERVE},instance="serve-3:8000",topic="model-selected"}`, '1x5 0x5 1x30'],
      [`flts_serve_following_promotions{${SERVE},instance="serve-4:8000",topic="model-selected"}`, '1x15 0x25'],
    ],
    expect: {
      FltsServeNotFollowingPromotions: {
        5: [],
        12: [{ job: 'flts-serve', instance: 'serve-1:8000', topic: 'model-selected' }],
        22: [],
        30: [{ job: 'flts-serve', instance: 'serve-4:8000', topic: 'model-selected' }],
      },
    },
  },
  {
    name: 'a trainer whose DLQ refuses its dead letters for 10 minutes, a serve replica refused once before its first scrape, and a batch daemon whose DLQ stores them',
    input: [
      // The message stays uncommitted and comes again, so a refusing DLQ refuses it at every delivery.
      [`flts_bus_dead_letter_refusals_total{${DAEMON},instance="trainer:9100",group="train-lstm",topic="training-data"}`, '0x10 1+1x10 11x40'],
      [`flts_bus_dead_letter_refusals_total{${SERVE},instance="serve-1:8000",group="serve-promotions",topic="model-selected"}`, '_x20 1x40'],
      [`flts_bus_dead_letter_refusals_total{${DAEMON},instance="batch:9100",group="batch-inference",topic="inference-data"}`, '0x60'],
      [`flts_bus_messages_total{${DAEMON},instance="batch:9100",group="batch-inference",topic="inference-data",outcome="dead-lettered"}`, '0x10 1x50'],
    ],
    expect: {
      FltsBusDeadLetterRefused: {
        5: [],
        15: [{ job: 'flts-daemon', instance: 'trainer:9100', group: 'train-lstm', topic: 'training-data' }],
        22: [{ job: 'flts-daemon', instance: 'trainer:9100', group: 'train-lstm', topic: 'training-data' }, { job: 'flts-serve', instance: 'serve-1:8000', group: 'serve-promotions', topic: 'model-selected' }],
        40: [],
      },
    },
  },
  {
    name: 'dead letters stored by a batch daemon, one stored by a new trainer before its first scrape, and messages handled',
    input: [
      [`flts_bus_messages_total{${DAEMON},instance="batch:9100",group="batch-inference",topic="inference-data",outcome="dead-lettered"}`, '_x5 0x25 1x100'],
      [`flts_bus_messages_total{${DAEMON},instance="batch:9100",group="batch-inference",topic="inference-data",outcome="handled"}`, '_x5 0+2x125'],
      [`flts_bus_dead_letter_refusals_total{${DAEMON},instance="batch:9100",group="batch-inference",topic="inference-data"}`, '_x5 0x125'],
      [`flts_bus_messages_total{${DAEMON},instance="trainer:9100",group="train-lstm",topic="training-data",outcome="dead-lettered"}`, '_x70 1x80'],
      [`flts_bus_messages_total{${SERVE},instance="serve-1:8000",group="serve-promotions",topic="model-selected",outcome="dead-lettered"}`, '0x130'],
    ],
    expect: {
      FltsBusMessagesDeadLettered: {
        10: [],
        40: [{ job: 'flts-daemon', instance: 'batch:9100', group: 'batch-inference', topic: 'inference-data' }],
        80: [{ job: 'flts-daemon', instance: 'batch:9100', group: 'batch-inference', topic: 'inference-data' }, { job: 'flts-daemon', instance: 'trainer:9100', group: 'train-lstm', topic: 'training-data' }],
        100: [{ job: 'flts-daemon', instance: 'trainer:9100', group: 'train-lstm', topic: 'training-data' }],
        140: [],
      },
      FltsBusDeadLetterRefused: { 40: [], 80: [] },
    },
  },
  {
    name: 'a new trainer whose counters start at 0, then its first failed run, and that failure two hours old',
    input: [
      // The trainer creates the series of every type it trains at 0; the pod is new, so they did not exist an hour ago.
      [`flts_training_runs_total{${DAEMON},instance="trainer-b:9100",model_type="GRU",status="FAILED"}`, '_x10 0x20 1x150'],
      [`flts_training_runs_total{${DAEMON},instance="trainer-b:9100",model_type="LSTM",status="FAILED"}`, '_x10 0x170'],
      [`flts_training_runs_total{${DAEMON},instance="trainer-b:9100",model_type="LSTM",status="SUCCESS"}`, '_x10 0+1x170'],
    ],
    expect: { FltsTrainingRunFailed: { 15: [], 25: [], 35: [{ job: 'flts-daemon', instance: 'trainer-b:9100', model_type: 'GRU' }], 150: [] } },
  },
  {
    name: 'a run that failed before Prometheus first scraped the new trainer (its counter appears at 1), and that failure two hours old',
    input: [
      [`flts_training_runs_total{${DAEMON},instance="trainer:9100",model_type="GRU",status="FAILED"}`, '_x10 1x170'],
      [`flts_training_runs_total{${DAEMON},instance="trainer:9100",model_type="LSTM",status="SUCCESS"}`, '0+1x180'],
    ],
    expect: { FltsTrainingRunFailed: { 5: [], 20: [{ job: 'flts-daemon', instance: 'trainer:9100', model_type: 'GRU' }], 150: [] } },
  },
  {
    name: 'a failure counted by a daemon that had failed before',
    input: [[`flts_training_runs_total{${DAEMON},instance="trainer:9100",model_type="LSTM",status="FAILED"}`, '1x100 2x80']],
    expect: { FltsTrainingRunFailed: { 90: [], 110: [{ job: 'flts-daemon', instance: 'trainer:9100', model_type: 'LSTM' }], 170: [] } },
  },
  {
    name: 'a batch claim that fails on one of two new batch replicas, one failing before the first scrape on a third, and claims waiting for the store',
    input: [
      [`flts_daemon_steps_total{${DAEMON},instance="batch-1:9100",role="batch",step="infer",result="failed"}`, '_x5 0x25 1x100'],
      [`flts_daemon_steps_total{${DAEMON},instance="batch-1:9100",role="batch",step="infer",result="done"}`, '_x5 0+2x125'],
      [`flts_daemon_steps_total{${DAEMON},instance="batch-2:9100",role="batch",step="infer",result="failed"}`, '_x5 0x125'],
      [`flts_daemon_steps_total{${DAEMON},instance="batch-2:9100",role="batch",step="infer",result="waiting"}`, '_x5 0+5x125'],
      [`flts_daemon_steps_total{${DAEMON},instance="batch-3:9100",role="batch",step="infer",result="failed"}`, '_x70 1x80'],
      // The trainer's failed steps are the training alert's business.
      [`flts_daemon_steps_total{${DAEMON},instance="trainer:9100",role="trainer",step="train",result="failed"}`, '_x5 0x25 1x100'],
    ],
    expect: {
      FltsBatchInferenceFailed: {
        10: [],
        40: [{ job: 'flts-daemon', instance: 'batch-1:9100' }],
        80: [{ job: 'flts-daemon', instance: 'batch-1:9100' }, { job: 'flts-daemon', instance: 'batch-3:9100' }],
        100: [{ job: 'flts-daemon', instance: 'batch-3:9100' }],
        140: [],
      },
    },
  },
  {
    name: 'replicas at their connection cap: one refusing HTTP clients, one refusing gRPC clients, one closing idle connections only, one refusing a single burst',
    input: [
      // Every replica declares both counters at 0 (createServeMetrics), so both terms of the sum always have a series.
      [`flts_http_connections_closed_at_cap_total{${SERVE},instance="serve-1:8000",what="refused"}`, '0+3x30'],
      [`flts_grpc_connections_closed_at_cap_total{${SERVE},instance="serve-1:8000",what="refused"}`, '0x30'],
      [`flts_http_connections_closed_at_cap_total{${SERVE},instance="serve-2:8000",what="refused"}`, '0x30'],
      [`flts_grpc_connections_closed_at_cap_total{${SERVE},instance="serve-2:8000",what="refused"}`, '0+1x30'],
      [`flts_http_connections_closed_at_cap_total{${SERVE},instance="serve-3:8000",what="idle"}`, '0+5x30'],
      [`flts_http_connections_closed_at_cap_total{${SERVE},instance="serve-3:8000",what="refused"}`, '0x30'],
      [`flts_grpc_connections_closed_at_cap_total{${SERVE},instance="serve-3:8000",what="refused"}`, '0x30'],
      [`flts_http_connections_closed_at_cap_total{${SERVE},instance="serve-4:8000",what="refused"}`, '0 0 5x28'],
      [`flts_grpc_connections_closed_at_cap_total{${SERVE},instance="serve-4:8000",what="refused"}`, '0x30'],
    ],
    expect: {
      FltsServeConnectionsRefusedAtCap: {
        5: [],
        20: [{ job: 'flts-serve', instance: 'serve-1:8000' }, { job: 'flts-serve', instance: 'serve-2:8000' }],
      },
    },
  },
  {
    name: 'a promoted run the serving role cannot load, beside reloads done and reloads waiting for the store',
    input: [
      [`flts_daemon_steps_total{${DAEMON},instance="serving:9100",role="serving",step="reload",result="failed"}`, '_x5 0x25 1x100'],
      [`flts_daemon_steps_total{${DAEMON},instance="serving:9100",role="serving",step="reload",result="done"}`, '_x5 0+1x125'],
      [`flts_daemon_steps_total{${DAEMON},instance="serving-2:9100",role="serving",step="reload",result="waiting"}`, '_x5 0+2x125'],
      [`flts_daemon_steps_total{${DAEMON},instance="serving-2:9100",role="serving",step="reload",result="invalid"}`, '_x5 0x25 1x100'],
      // A batch claim's failure is the batch alert's business.
      [`flts_daemon_steps_total{${DAEMON},instance="batch:9100",role="batch",step="infer",result="failed"}`, '_x5 0x25 1x100'],
    ],
    expect: { FltsServingReloadFailed: { 10: [], 40: [{ job: 'flts-daemon', instance: 'serving:9100' }], 100: [] } },
  },
  {
    name: 'messages out of contract taken by a trainer, and by a new batch replica before its first scrape, beside failed claims',
    input: [
      [`flts_daemon_steps_total{${DAEMON},instance="trainer:9100",role="trainer",step="train",result="invalid"}`, '_x5 0x25 1x100'],
      [`flts_daemon_steps_total{${DAEMON},instance="trainer:9100",role="trainer",step="train",result="done"}`, '_x5 0+1x125'],
      [`flts_daemon_steps_total{${DAEMON},instance="batch-3:9100",role="batch",step="infer",result="invalid"}`, '_x70 1x80'],
      [`flts_daemon_steps_total{${DAEMON},instance="batch-1:9100",role="batch",step="infer",result="failed"}`, '_x5 0x25 1x100'],
      [`flts_daemon_steps_total{${DAEMON},instance="batch-1:9100",role="batch",step="infer",result="invalid"}`, '_x5 0x125'],
    ],
    expect: {
      FltsInvalidMessages: {
        10: [],
        40: [{ job: 'flts-daemon', instance: 'trainer:9100', role: 'trainer', step: 'train' }],
        80: [{ job: 'flts-daemon', instance: 'trainer:9100', role: 'trainer', step: 'train' }, { job: 'flts-daemon', instance: 'batch-3:9100', role: 'batch', step: 'infer' }],
        100: [{ job: 'flts-daemon', instance: 'batch-3:9100', role: 'batch', step: 'infer' }],
        140: [],
      },
    },
  },
  {
    name: 'a trainer whose MLflow stops answering for 20 minutes, beside a promoter whose calls all go through',
    input: [
      // Declared at 0 for every code when tracking is configured (declareRoleTracking).
      [`flts_daemon_tracking_failures_total{${DAEMON},instance="trainer:9100",role="trainer",code="FLTS_TRACKING_UNAVAILABLE"}`, '0x20 1+1x20 21x80'],
      [`flts_daemon_tracking_failures_total{${DAEMON},instance="trainer:9100",role="trainer",code="FLTS_TRACKING_REJECTED"}`, '0x121'],
      [`flts_daemon_tracking_failures_total{${DAEMON},instance="promoter:9100",role="promoter",code="FLTS_TRACKING_UNAVAILABLE"}`, '0x121'],
    ],
    expect: {
      FltsTrackingCallsFailing: {
        10: [],
        30: [{ job: 'flts-daemon', instance: 'trainer:9100', role: 'trainer', code: 'FLTS_TRACKING_UNAVAILABLE' }],
        110: [],
      },
    },
  },
  {
    name: 'a trainer whose runs MLflow lacks for more than an hour, beside one whose mirrors catch up after half an hour',
    input: [
      // Seconds the oldest unmirrored run has waited, one scrape a minute: from minute 11 on it grows by a minute each.
      [`flts_daemon_tracking_oldest_unmirrored_seconds{${DAEMON},instance="trainer-1:9100",role="trainer"}`, '0x10 60+60x90'],
      [`flts_daemon_tracking_oldest_unmirrored_seconds{${DAEMON},instance="trainer-2:9100",role="trainer"}`, '0x10 60+60x30 0x60'],
    ],
    expect: { FltsTrackingMirrorBehind: { 60: [], 80: [], 95: [{ job: 'flts-daemon', instance: 'trainer-1:9100', role: 'trainer' }] } },
  },
  {
    name: 'rollbacks on live accuracy by a serve replica and by the promoter',
    input: [[`flts_live_rollbacks_total{${SERVE},instance="serve-1:8000"}`, '0x10 1x100'], [`flts_live_rollbacks_total{${DAEMON},instance="promoter:9100"}`, '0x50 1x60']],
    expect: { FltsLiveRollback: { 5: [], 20: [{ job: 'flts-serve' }], 60: [{ job: 'flts-serve' }, { job: 'flts-daemon' }], 100: [{ job: 'flts-daemon' }] } },
  },
  {
    name: 'a run pinned by a person that the promoter found worse live, kept in service',
    input: [[`flts_live_worse_kept_total{${DAEMON},instance="promoter:9100"}`, '0x10 1x100'], [`flts_live_rollbacks_total{${DAEMON},instance="promoter:9100"}`, '0x110']],
    expect: { FltsLiveWorseRunKept: { 5: [], 20: [{ job: 'flts-daemon' }], 100: [] }, FltsLiveRollback: { 20: [] } },
  },
  {
    name: 'a probation a serve replica ended without a baseline, the previous run deleted, beside a probation the promoter decided',
    input: [
      [`flts_live_no_baseline_total{${SERVE},instance="serve-1:8000"}`, '0x10 1x100'],
      [`flts_live_worse_kept_total{${SERVE},instance="serve-1:8000"}`, '0x110'],
      [`flts_live_rollbacks_total{${DAEMON},instance="promoter:9100"}`, '0x50 1x60'],
      [`flts_live_no_baseline_total{${DAEMON},instance="promoter:9100"}`, '0x110'],
    ],
    expect: {
      FltsLiveProbationWithoutBaseline: { 5: [], 20: [{ job: 'flts-serve' }], 60: [{ job: 'flts-serve' }], 100: [] },
      FltsLiveWorseRunKept: { 20: [] },
      FltsLiveRollback: { 20: [], 60: [{ job: 'flts-daemon' }] },
    },
  },
  {
    name: 'a target whose actuals clients never send, on a replica with room and on one whose memory is full, beside a lagging sensor and a column sent late',
    input: [
      // serve-1: "up" never comes, its waiting points grow; "down" comes a row late, a constant count.
      [`flts_live_waiting_points{${SERVE},instance="serve-1:8000",target="up"}`, '0+10x150'],
      [`flts_live_waiting_points{${SERVE},instance="serve-1:8000",target="down"}`, '3x150'],
      [`flts_live_forgotten_points_total{${SERVE},instance="serve-1:8000"}`, '0x150'],
      // serve-2: "up" fills its memory in 20 minutes, then stays at the plateau while the memory forgets points.
      [`flts_live_waiting_points{${SERVE},instance="serve-2:8000",target="up"}`, '0+100x20 2000x130'],
      [`flts_live_forgotten_points_total{${SERVE},instance="serve-2:8000"}`, '0x20 0+50x130'],
      // serve-3: "up" waited for 30 minutes until clients sent it (no series at 0); its memory is full of other forecasts.
      [`flts_live_waiting_points{${SERVE},instance="serve-3:8000",target="up"}`, '0+10x30 _x120'],
      [`flts_live_forgotten_points_total{${SERVE},instance="serve-3:8000"}`, '0+5x150'],
    ],
    expect: {
      FltsLiveActualsNotArriving: {
        50: [],
        70: [{ job: 'flts-serve', instance: 'serve-1:8000', target: 'up' }, { job: 'flts-serve', instance: 'serve-2:8000', target: 'up' }],
        140: [{ job: 'flts-serve', instance: 'serve-1:8000', target: 'up' }, { job: 'flts-serve', instance: 'serve-2:8000', target: 'up' }],
      },
    },
  },
];

describe.skipIf(Boolean(deployTools.skip))(`deploy > alerting rules${skipNote(deployTools)}`, () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'flts-alerts-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('pass promtool check rules (PromQL, durations, templates), as the compose Prometheus loads them', () => {
    const res = run(tools.promtool, ['check', 'rules', RULE_FILES.compose]);
    expect(res.status, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toMatch(/SUCCESS: 24 rules found/);
  });

  it('has a promtool check that rejects bad PromQL and bad durations', () => {
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, stringify({ groups: [{ name: 'x', rules: [{ alert: 'Broken', expr: 'sum by (job (flts_model_ready)', for: '5 minutes' }] }] }));
    expect(run(tools.promtool, ['check', 'rules', broken]).status).not.toBe(0);
  });

  for (const testCase of CASES) {
    it(`fires exactly the expected alerts on ${testCase.name}`, () => {
      // Annotations are prose, checked by promtool check rules and the label test; the cases pin what fires and with which labels.
      const groups = readRuleGroups(RULE_FILES.compose).map((group) => ({ ...group, rules: group.rules.map(({ annotations: _prose, ...rule }) => rule) }));
      const severity = new Map(groups.flatMap((group) => group.rules.map((rule) => [rule.alert, rule.labels?.severity])));
      const rulesFile = join(dir, 'rules.yaml');
      writeFileSync(rulesFile, stringify({ groups }));
      const test = {
        rule_files: [rulesFile],
        evaluation_interval: '1m',
        tests: [{
          interval: '1m',
          input_series: testCase.input.map(([series, values]) => ({ series, values })),
          alert_rule_test: Object.entries(testCase.expect).flatMap(([alertname, byMinute]) => Object.entries(byMinute).map(([minute, alerts]) => ({
            eval_time: `${minute}m`,
            alertname,
            exp_alerts: alerts.map((labels) => ({ exp_labels: { severity: severity.get(alertname), ...labels } })),
          }))),
        }],
      };
      const testFile = join(dir, 'test.yaml');
      writeFileSync(testFile, stringify(test));
      const res = run(tools.promtool, ['test', 'rules', testFile]);
      expect(res.status, res.stdout + res.stderr).toBe(0);
    });
  }
});
