import { describe, expect, it } from 'vitest';
import type { PromotionResult } from '../core/workflows/promote.js';
import { liveProbationLine, promotionNoticeLines, scoreText, targetsChangedLine } from './promotion-lines.js';

describe('cli > promotion-lines', () => {
  it('shows a record\'s score to six significant digits, as the reason beside it does, and a dash for none', () => {
    // Before: "score 0.05836835384255811" beside "best score 0.0583684".
    expect(scoreText(0.05836835384255811)).toBe('0.0583684');
    expect(scoreText(0.071975)).toBe('0.0719750');
    expect(scoreText(null)).toBe('-');
    expect(scoreText(Number.NaN)).toBe('-');
  });

  it('warns in one line which columns /predict returns after a promotion that changed the targets', () => {
    expect(targetsChangedLine({ previous_run_id: 'runBoth', from: ['down', 'up'], to: ['down'] })).toBe('warning: targets changed from down,up (run runBoth) to down: /predict now returns down.');
  });

  it('says who runs a live probation from the replicas\' live reports: how many score live, or that none does yet', () => {
    const start = { run_id: 'runB', previous_run_id: 'runA', points: 500, margin: 0.1, rollback: true };
    const comparison = 'run runB with run runA forecasting in shadow over 500 matched points, then judged worse if its RMSE exceeds the previous run\'s by more than 10%, and a worse run is rolled back unless the deciding process (the promoter, or an embedded server) has FLTS_LIVE_ROLLBACK off; watch it in /healthz live.probation or with `flts eval --live`.';
    expect(liveProbationLine({ ...start, serving_replicas: ['host-1', 'host-2'] })).toBe(`live probation starts on 2 serving replicas: they compare ${comparison}`);
    expect(liveProbationLine({ ...start, serving_replicas: ['host-1'] })).toBe(`live probation starts on 1 serving replica: they compare ${comparison}`);
    expect(liveProbationLine({ ...start, serving_replicas: [] })).toBe(
      `live probation waits for a server: no server reports live scoring yet (a replica serving with FLTS_LIVE_SCORING on reports every FLTS_LIVE_REPORT_INTERVAL_MS); serving replicas will compare ${comparison}`,
    );
    // The reports could not be read: who runs it is unknown.
    expect(liveProbationLine({ ...start, serving_replicas: null })).toBe(`live probation started: serving replicas compare ${comparison}`);
    // Pinned by the record: never rolled back, whoever decides.
    expect(liveProbationLine({ ...start, rollback: false, serving_replicas: null })).toBe(
      'live probation started: serving replicas compare run runB with run runA forecasting in shadow over 500 matched points, then judged worse if its RMSE exceeds the previous run\'s by more than 10%, decided and reported, never rolled back automatically (pinned); watch it in /healthz live.probation or with `flts eval --live`.',
    );
  });

  it('says a promotion MLflow did not take is marked by the next sync, not lost', () => {
    const result = { live_probation: null, published: null, tracking: { status: 'unavailable', code: 'FLTS_TRACKING_UNAVAILABLE', message: 'MLflow tracking server http://127.0.0.1:9 failed' } } as unknown as PromotionResult;
    expect(promotionNoticeLines(result)).toEqual(['mlflow: promotion not marked (MLflow tracking server http://127.0.0.1:9 failed); the next sync (flts train, the daemon) marks it once MLflow takes it.']);
    // Refused credentials: which were sent, as `flts eval` says in its hint.
    const refused = { ...result, tracking: { status: 'unavailable', code: 'FLTS_TRACKING_REJECTED', message: 'HTTP 401', hint: 'flts sent the bearer token of MLFLOW_TRACKING_TOKEN.' } } as unknown as PromotionResult;
    // What the server sent prints as one line of text, without its terminal sequences.
    const escaped = { ...result, tracking: { status: 'unavailable', code: 'FLTS_TRACKING_REJECTED', message: 'bad \u001b[2J\u001b[31mRED\u001b[0m\nfake line' } } as unknown as PromotionResult;
    expect(promotionNoticeLines(escaped)).toEqual(['mlflow: promotion not marked (bad  [2J [31mRED [0m fake line); the next sync (flts train, the daemon) marks it once MLflow takes it.']);
    expect(promotionNoticeLines(refused)).toEqual(['mlflow: promotion not marked (HTTP 401); the next sync (flts train, the daemon) marks it once MLflow takes it. flts sent the bearer token of MLFLOW_TRACKING_TOKEN.']);
  });
});
