import type { MessageBus } from '../bus/message-bus.js';
import type { Settings } from '../config/settings.js';
import type { FltsError } from '../errors.js';
import type { EventSink } from '../events.js';
import { silentLogger, type Logger } from '../logger.js';
import { writeReadyFile, type ReadyFile } from '../ready-file.js';
import { deadlineIn, type RetryPolicy } from '../retry.js';
import type { ObjectStore } from '../storage/object-store.js';
import { createPromotionFollowing } from '../serve/promotion-following.js';
import { createServeMetrics, type ServeMetrics } from '../serve/serve-metrics.js';
import { startInferenceService, type InferenceService, type ServiceStopReport } from '../serve/start-inference-service.js';
import { createRollbackAction } from '../workflows/auto-rollback.js';
import { followPromotions, type PromotionFollower } from './serving-companion.js';

export interface ServeDeps {
  store: ObjectStore;
  /** With one, the replica follows `model-selected` and the promoter decides its probations; stop() closes it. */
  bus?: MessageBus;
  logger?: Logger;
  onEvent?: EventSink;
  /** Made before the bus, which then reports its consumers' crashes and broker connections to this /metrics. */
  metrics?: ServeMetrics;
  /** Aborting it ends the start, which may wait long on a store that does not answer. */
  signal?: AbortSignal;
  /** How the promotion follower retries a broker that does not answer; tests shorten it. */
  promotionRetry?: RetryPolicy;
}

export interface Serve {
  url: string;
  grpcUrl: string | null;
  service: InferenceService;
  /** The replica's follower of `model-selected`, with a bus. */
  follower?: PromotionFollower;
  /** The error the model holder gave up with (a refused key, a pinned run gone): no wait can change it. */
  gaveUp: Promise<FltsError>;
  /** The run served now, if any. */
  runId(): string | null;
  /**
   * Leaves the promotion group, answers the requests in flight, writes the last prediction records and live state,
   * and closes the bus; removes the ready file (instance.readyFile) once the server no longer listens; says what the
   * store did not take. Idempotent. `cut` aborted: the requests still in flight are cut then (flts serve's second signal).
   */
  stop(options?: { cut?: AbortSignal }): Promise<ServiceStopReport>;
}

/**
 * `flts serve`: the inference API and, with a bus, the replica's follower of promotions. A broker that does not
 * answer never keeps the server from serving: the follower joins in the background (reported as
 * `serve.promotions_unavailable` until it does) while the pointer poll keeps the replica on the promoted model.
 */
export async function startServe(settings: Settings, deps: ServeDeps): Promise<Serve> {
  const logger = deps.logger ?? silentLogger;
  const { store, bus } = deps;
  // Written as soon as the server listens, before the model loads (which may wait long on the store): the health
  // check asks liveness, which answers meanwhile.
  let readyFile: ReadyFile | undefined;
  const onEvent: EventSink = (event) => {
    if (event.type === 'serve.listening') {
      const contents = { command: 'serve' as const, url: event.url, health_url: `${event.url}/livez`, ...(event.grpcUrl ? { grpc_url: event.grpcUrl } : {}) };
      readyFile = writeReadyFile(settings.instance.readyFile, contents, logger);
    }
    deps.onEvent?.(event);
  };
  const removeReadyFile = (): void => readyFile?.remove();
  // Alone, this server decides each probation itself; with a bus the promoter decides from every replica's figures (F11).
  const rollback = bus ? undefined : createRollbackAction({ store, settings, logger, onEvent });
  const topic = settings.bus.topics.modelSelected;
  const metrics = deps.metrics ?? createServeMetrics();
  // Made before the service, whose /healthz says from its first answer whether the follower has joined yet.
  const promotions = bus ? createPromotionFollowing(topic, { metrics }) : undefined;
  const service = await startInferenceService(settings, { store, logger, onEvent, rollback, metrics, signal: deps.signal, ...(bus ? { promotionTopic: topic, promotions } : {}) }).catch(async (error: unknown) => {
    removeReadyFile();
    throw error;
  });
  const follower = bus
    ? await followPromotions(
        { settings, bus, holder: service.holder, logger, live: service.live, store },
        {
          retry: deps.promotionRetry,
          onUnavailable: (error, delayMs) => {
            promotions?.notFollowing(error.code);
            // Brokers that answer at their bootstrap address only: the addresses they advertise are what to check.
            const { advertised } = error.details;
            onEvent?.({ type: 'serve.promotions_unavailable', topic, code: error.code, message: error.message, retryInMs: delayMs, ...(Array.isArray(advertised) ? { advertised: advertised.map(String) } : {}) });
          },
          onGaveUp: (error) => promotions?.notFollowing(error.code),
        },
      ).catch(async (error: unknown) => {
        await service.close();
        removeReadyFile();
        throw error;
      })
    : undefined;
  void follower?.joined.then((joined) => {
    if (!joined) return;
    promotions?.joined(follower.group);
    onEvent?.({ type: 'serve.following_promotions', topic, group: follower.group });
  });
  let stopping: Promise<ServiceStopReport> | undefined;
  const stop = (options: { cut?: AbortSignal } = {}): Promise<ServiceStopReport> =>
    (stopping ??= (async () => {
      // One deadline for leaving the brokers: the follower's unsubscribe and the bus's close wait for the same broker,
      // so with it away they share bus.kafka.closeTimeoutMs instead of waiting it out one after the other.
      const leaving = deadlineIn(settings.bus.kafka.closeTimeoutMs);
      // Not ready from the first moment: the follower's leave may take bus.kafka.closeTimeoutMs, and a load balancer
      // that saw this replica ready meanwhile kept sending it requests the close would then refuse or cut.
      service.beginStop();
      promotions?.stop();
      await follower?.stop(leaving);
      const [stopped] = await Promise.all([service.close(options.cut ? { cut: options.cut } : {}).finally(removeReadyFile), bus?.close({ deadline: leaving }).catch(() => undefined)]);
      return stopped;
    })());
  return {
    url: service.url,
    grpcUrl: service.grpc?.url ?? null,
    service,
    follower,
    gaveUp: service.holder.gaveUp,
    runId: () => service.holder.status().current?.runId ?? null,
    stop,
  };
}
