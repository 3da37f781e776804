import type { Settings } from '../config/settings.js';
import { listLiveReports } from '../live/live-report-reader.js';
import { promotionRefOf, replicasScoringLive } from '../live/live-reports.js';
import { probationTermsOf } from '../live/probation.js';
import type { PromotionRecord } from '../registry/pointers.js';
import type { ObjectStore } from '../storage/object-store.js';

export interface LiveProbationStart {
  run_id: string;
  previous_run_id: string;
  /** Matched points the decision waits for: the record's own (`probation.points`), which every replica and decider uses. */
  points: number;
  /** Relative RMSE margin beyond which the new run is worse: the record's own (`probation.margin`). */
  margin: number;
  /**
   * Whether a worse run may be rolled back automatically: false when the record pins it. Otherwise the process that
   * decides (the promoter, or an embedded server) rolls it back unless its own FLTS_LIVE_ROLLBACK is off: an
   * operator's kill switch the record does not fix, so the promoting process cannot tell.
   */
  rollback: boolean;
  /**
   * The replicas of this scope whose live reports say they score live now (see replicasScoringLive): those that run
   * the probation. Empty when no server does yet (the probation waits for one); null when the reports could not be read.
   */
  serving_replicas: string[] | null;
}

/**
 * The probation a newly written record starts, as the replicas will see it from the pointer, and who runs it: the
 * promoting process's own settings say nothing of whether a server scores live, the replicas' reports do. The record
 * says whether one started (a promotion that replaced a run carries its probation terms, whatever the promoting
 * process's FLTS_LIVE_SCORING); one written before records carried them says nothing, and none is announced.
 */
export async function liveProbationOf(record: PromotionRecord, settings: Settings, store: ObjectStore, now: Date = new Date()): Promise<LiveProbationStart | null> {
  const ref = record.probation !== undefined && (record.action ?? 'promote') === 'promote' ? promotionRefOf(record) : undefined;
  if (!ref) return null;
  // The promotion is made: reports that cannot be read leave who runs its probation unknown, nothing more. Read
  // afresh (one listing, a read per replica): a command promotes once per process, and the daemon's promotions come a
  // training apart, longer than the heartbeat that rewrites every report, so a reader kept between them would read
  // them all the same.
  const serving = await listLiveReports(store, settings, now).then((reports) => replicasScoringLive(reports, settings, now), () => null);
  // The record's terms, not this process's settings: a promotion another process wrote (caught up here) has its own.
  const { points, margin } = probationTermsOf(record, settings);
  return { run_id: ref.run_id, previous_run_id: ref.previous_run_id, points, margin, rollback: record.pinned !== true, serving_replicas: serving };
}
