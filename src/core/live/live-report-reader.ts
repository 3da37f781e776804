import type { Settings } from '../config/settings.js';
import { orUnlessUnavailable } from '../errors.js';
import { getJsonIfExists } from '../storage/json-objects.js';
import type { ObjectStore } from '../storage/object-store.js';
import { liveReportsPlace, readableReport, type LiveReport } from './live-reports.js';

/**
 * A store's listing may tell time to the second only (S3): a report rewritten within the second it was read, at the
 * same size, lists as unchanged. A report is read again until a look this long after its first reading finds it
 * unchanged; only then is it taken as read.
 */
const LISTING_TIME_RESOLUTION_MS = 1000;

interface ReadReport {
  /** Size and modification time, as listed when it was read. */
  signature: string;
  report: LiveReport | undefined;
  readAt: number;
  settled: boolean;
}

export interface LiveReportReader {
  /**
   * Every replica's latest report in this scope. One listing, and only the reports whose listed size or time changed
   * since this reader's last look are read: with R replicas each looking every report interval, a look costs the
   * reports that changed, not all R. A report not rewritten within `live.reportRetentionMs` is a replica that is gone
   * (a replica id names a host and a process, so every restart adds one): it is left out, and deleted so the scope
   * does not grow for good. Unreadable reports are skipped: a report is replaced, never appended.
   */
  read(now?: Date): Promise<LiveReport[]>;
}

export function createLiveReportReader(store: ObjectStore, settings: Settings): LiveReportReader {
  const { bucket, prefix } = liveReportsPlace(settings);
  const known = new Map<string, ReadReport>();

  async function look(key: string, signature: string, now: number): Promise<ReadReport> {
    const before = known.get(key);
    if (before?.settled && before.signature === signature) return before;
    const report = readableReport(await getJsonIfExists<unknown>(store, bucket, key).catch(orUnlessUnavailable(undefined)));
    const readAt = before?.signature === signature ? before.readAt : now;
    const entry: ReadReport = { signature, report, readAt, settled: now - readAt >= LISTING_TIME_RESOLUTION_MS };
    known.set(key, entry);
    return entry;
  }

  return {
    async read(now = new Date()) {
      const listed = (await store.list(bucket, prefix)).filter((info) => info.key.endsWith('.json'));
      const keys = new Set(listed.map((info) => info.key));
      for (const key of known.keys()) if (!keys.has(key)) known.delete(key);
      const entries = await Promise.all(listed.map((info) => look(info.key, `${info.size}:${info.lastModified.getTime()}`, now.getTime())));
      const oldest = now.getTime() - settings.live.reportRetentionMs;
      const current: LiveReport[] = [];
      const stale: string[] = [];
      entries.forEach(({ report }, index) => {
        if (report === undefined) return;
        // An unreadable time is no proof of age: such a report is kept.
        if (Date.parse(report.updated_at) < oldest) stale.push(listed[index].key);
        else current.push(report);
      });
      // Best effort: a report left behind is deleted by the next look.
      await Promise.all(stale.map((key) => store.delete(bucket, key).catch(() => undefined)));
      return current;
    },
  };
}

/** Every replica's latest report in this scope, read once (see LiveReportReader). */
export async function listLiveReports(store: ObjectStore, settings: Settings, now: Date = new Date()): Promise<LiveReport[]> {
  return createLiveReportReader(store, settings).read(now);
}
