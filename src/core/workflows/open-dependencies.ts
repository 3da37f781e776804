import type { Settings } from '../config/settings.js';
import { createMessageBus, type BusMetrics, type MessageBus } from '../bus/index.js';
import { silentLogger, type Logger } from '../logger.js';
import { createObjectStore, type ObjectStore } from '../storage/index.js';
import type { TrackingDeps } from '../tracking/index.js';

/** What the settings name for a process: built once, handed to every workflow, closed once at the end. */
export interface Dependencies {
  store: ObjectStore;
  /** The bus `bus.kind` names (fs or kafka), or undefined for none. */
  bus: MessageBus | undefined;
  logger: Logger;
  tracking: TrackingDeps;
  /** Where a workflow may make a private directory for a moment (OpenDependenciesOptions.scratchDir). */
  scratchDir?: string;
  /** Closes the bus, then the store; later calls do nothing. */
  close(): Promise<void>;
}

export interface OpenDependenciesOptions {
  /** Where the store, the bus and tracking warn (default: silentLogger). */
  logger?: Logger;
  /** The environment variable of each setting taken from the environment (ResolvedSettings.envNames). */
  envNames?: Readonly<Record<string, string>>;
  /** The metrics the bus reports to (a service's registry). */
  busMetrics?: BusMetrics;
  /**
   * A service (true) waits for the Kafka brokers as long as it takes; a one-shot caller (the default) fails within
   * bus.kafka.commandConnectTimeoutMs when they cannot be reached, as a command does.
   */
  service?: boolean;
  /**
   * Where a workflow may make a private directory for a moment: preprocess writes its Parquet files there, a wide
   * table some ten times faster than in memory. The CLI passes the system's temporary directory (os.tmpdir, which
   * follows TMPDIR); without one the files are written in memory, the same bytes.
   */
  scratchDir?: string;
}

/**
 * The store, bus and tracking collaborators the settings name, built as the CLI and the daemon build theirs: a
 * library caller handing these to promote() or preprocess() publishes what `flts promote` or `flts preprocess` do.
 */
export async function openDependencies(settings: Settings, options: OpenDependenciesOptions = {}): Promise<Dependencies> {
  const logger = options.logger ?? silentLogger;
  const store = await createObjectStore(settings, { logger, envNames: options.envNames });
  const bus = createMessageBus(settings, { logger, metrics: options.busMetrics, oneShot: !options.service });
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      await bus?.close().catch(() => undefined);
      // A write a stopping service gave up on (a store that does not answer) would hold the process for the store's timeout.
      store.close?.();
    })());
  return { store, bus, logger, tracking: { logger }, ...(options.scratchDir !== undefined ? { scratchDir: options.scratchDir } : {}), close };
}
