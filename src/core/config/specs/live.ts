import type { SettingSpec } from './setting-spec.js';

/**
 * Live accuracy: how served forecasts are scored against the actual values later requests bring, and the
 * probation that rolls an automatic promotion back when it forecasts worse in production than the run it replaced
 * (a run a person pinned is compared and reported, never rolled back).
 */
export const LIVE_SPECS: readonly SettingSpec[] = [
  { path: 'live.enabled', type: 'boolean', default: true, env: ['FLTS_LIVE_SCORING'], description: 'Remember served forecasts and score them when later requests, POST /actuals or inference-data claims bring the actual values.' },
  { path: 'live.windowPoints', type: 'integer', default: 1000, min: 1, max: 1_000_000, env: ['FLTS_LIVE_WINDOW_POINTS'], description: 'Rolling window of matched points behind the live RMSE, MAE and coverage of each run.' },
  { path: 'live.memoryPoints', type: 'integer', default: 200_000, min: 1, max: 10_000_000, env: ['FLTS_LIVE_MEMORY_POINTS'], description: 'Forecast points remembered at most while waiting for their actuals; beyond it those an actual reached already that wait for one more target are forgotten first, then the oldest. Each takes about 1 KB of heap (one target, two interval levels; the last points scored are remembered as many, so a repeat is not scored twice): about 200 MB at the default.' },
  { path: 'live.earlyActualsPoints', type: 'integer', default: 100_000, min: 0, max: 10_000_000, env: ['FLTS_LIVE_EARLY_ACTUALS_POINTS'], description: 'Actual rows (POST /actuals, a claim\'s data) kept at most when no remembered forecast waits for their timestamp, so that a forecast of it made later, from rows that end before it, is scored on them; beyond it the oldest arrivals are let go. About 0.3 KB of heap a row of one target: about 30 MB at the default. 0: none is kept (such rows are unmatched, and a claim is not read while no forecast waits).' },
  { path: 'live.earlyActualsPointsPerSeries', type: 'integer', default: 10_000, min: 1, max: 10_000_000, env: ['FLTS_LIVE_EARLY_ACTUALS_POINTS_PER_SERIES'], description: 'Of live.earlyActualsPoints, the rows one series (a request\'s identifier) keeps at most: beyond it that series\' own oldest arrivals are let go, never another series\' rows, and a POST /actuals that would keep more rows than this by itself is refused whole (HTTP 413, FLTS_LIVE_EARLY_ACTUALS_TOO_MANY) before anything is scored or kept.' },
  { path: 'live.earlyActualsMaxAgeMs', type: 'integer', default: 3_600_000, min: 1000, max: 2_147_483_647, env: ['FLTS_LIVE_EARLY_ACTUALS_MAX_AGE_MS'], description: "How long an actual row kept for a forecast made later (live.earlyActualsPoints) waits for it, from its arrival (a claim's rows: from the claim's publication, so a replica that joins and reads the recent claims keeps them no longer than one that read them at once; from the claim's receipt when its stamp is after it, or at most 5 minutes before it, a publisher's clock ahead or behind); an older one is let go unscored." },
  { path: 'live.probationPoints', type: 'integer', default: 500, min: 1, max: 10_000_000, env: ['FLTS_LIVE_PROBATION_POINTS'], description: 'After a promotion, matched points on which the new run is compared with the previous run forecasting in shadow. Read by the process that promotes and saved in the promotion record (`probation.points`): every replica pairs up to it, the decider waits for it and `flts eval --live` ranks runs with fewer points last, whatever their own value (a record without it, from before, is sized by each process\'s own).' },
  { path: 'live.rollbackMargin', type: 'number', default: 0.1, min: 0, max: 100, env: ['FLTS_LIVE_ROLLBACK_MARGIN'], description: "Roll back when the new run's live RMSE exceeds the previous run's by more than this fraction over the probation window. Fixed, like live.probationPoints, by the process that promotes (`probation.margin` of the promotion record)." },
  { path: 'live.rollback', type: 'boolean', default: true, env: ['FLTS_LIVE_ROLLBACK'], description: 'Act on a failed probation (false: keep scoring and reporting, never roll back). A run a person pinned is never rolled back automatically.' },
  { path: 'live.reportIntervalMs', type: 'integer', default: 5000, min: 50, max: 3_600_000, env: ['FLTS_LIVE_REPORT_INTERVAL_MS'], description: 'How often a replica writes its live figures to the store (when they changed) and the probation decider reads those that changed.' },
  { path: 'live.reportRetentionMs', type: 'integer', default: 86_400_000, min: 60_000, max: 2_147_483_647, env: ['FLTS_LIVE_REPORT_RETENTION_MS'], description: 'A replica report not rewritten for this long belongs to a replica that is gone (live ones rewrite theirs when their figures change, and unchanged at least every minute, or a quarter of this when shorter): it is left out of the live ranking and probation, and deleted.' },
  { path: 'live.claimActuals', type: 'boolean', default: true, env: ['FLTS_LIVE_CLAIM_ACTUALS'], description: "With a bus, every serving replica also reads the data of each inference-data claim (in a consumer group of its own, from the first claim published since the replica started, so none published while its group was joining is missed, or, while actuals are kept for forecasts made later, since live.earlyActualsMaxAgeMs before it joined) and scores its remembered forecasts against the claim's actual values; false: only requests and POST /actuals bring actuals." },
  { path: 'live.claimCatchUpMaxClaims', type: 'integer', default: 1000, min: 0, max: 10_000_000, env: ['FLTS_LIVE_CLAIM_CATCH_UP_MAX_CLAIMS'], description: "Claims published before a serving replica began remembering forecasts that it reads at most when it joins, for their actuals kept for forecasts made later (live.earlyActualsMaxAgeMs back): past it, or live.claimCatchUpMaxBytes, the older of those claims are passed unread (the newest are read, whose rows a forecast made next asks for) and one log line says how many and from when (live_claims_catch_up_skipped). Claims published since it began are always read. 0: none of them is read." },
  { path: 'live.claimCatchUpMaxBytes', type: 'integer', default: 1_073_741_824, min: 0, max: 1_099_511_627_776, env: ['FLTS_LIVE_CLAIM_CATCH_UP_MAX_BYTES'], description: 'The bytes of claimed objects (as the store lists them) a serving replica reads at most when it joins, over the claims published before it began (live.claimCatchUpMaxClaims); 1 GiB.' },
  { path: 'live.claimMaxBytes', type: 'integer', default: 67_108_864, min: 1, max: 2_147_483_647, env: ['FLTS_LIVE_CLAIM_MAX_BYTES'], description: "A claimed object larger than this is not read by a serving replica for its actual values (it would be held in the replica's memory whole while parsed, off the request thread); the batch role forecasts it all the same." },
  { path: 'live.shadowRunId', type: 'string', default: '', envCase: 'trim', env: ['FLTS_SERVE_SHADOW_RUN'], description: 'Also forecast with this run on every request, in shadow (not served), and score it ("" = none).' },
];

export interface LiveSettings {
  enabled: boolean;
  windowPoints: number;
  memoryPoints: number;
  earlyActualsPoints: number;
  earlyActualsPointsPerSeries: number;
  earlyActualsMaxAgeMs: number;
  probationPoints: number;
  rollbackMargin: number;
  rollback: boolean;
  reportIntervalMs: number;
  reportRetentionMs: number;
  claimActuals: boolean;
  claimMaxBytes: number;
  claimCatchUpMaxClaims: number;
  claimCatchUpMaxBytes: number;
  shadowRunId: string;
}
