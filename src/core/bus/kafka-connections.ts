import net from 'node:net';
import tls from 'node:tls';
import type { BrokersFunction, ISocketFactoryArgs } from 'kafkajs';
import { FltsError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { isTlsRefusal } from '../tls-files.js';
import { bootstrapUnanswered, kafkaFailure, type SentMessage } from './kafka-failure.js';
import { redactSecrets } from '../redact.js';
import { createListenerWatch, expectedListener, type ListenerMismatch } from './kafka-listener-watch.js';

/** kafkajs' own socket factory turns TCP keep-alive on with this delay; this one does the same. */
const KEEP_ALIVE_DELAY_MS = 60_000;

/** Why a connection of a closed bus ended or failed; kafkajs logs it as a connection error, flts as debug. */
export const BUS_CLOSED_REASON = 'the flts Kafka bus is closed';

/** kafkajs passes `ssl: null` to a client configured without TLS, although its types say otherwise. */
type SocketArgs = Omit<ISocketFactoryArgs, 'ssl'> & { ssl?: tls.ConnectionOptions | null };

export interface KafkaConnections {
  /** For `new Kafka({ brokers })`: the bootstrap list while open (less the addresses set aside), none once closed or stopped. */
  brokers: BrokersFunction;
  /** For `new Kafka({ socketFactory })`: every connection of that client's producers, consumers and admins. */
  socketFactory: (args: SocketArgs) => net.Socket;
  readonly closed: boolean;
  /**
   * A listener that speaks another protocol than flts (kafka-listener-watch.ts): a definite one only once it stopped
   * the bus (every bootstrap address set aside), otherwise the latest suspicion, if any.
   */
  mismatch(): ListenerMismatch | undefined;
  /**
   * `broker` (host:port) is a bootstrap address set aside: its failure is said by the bus itself (the coded error once
   * every address is, the warning bus_kafka_broker_set_aside before), not as an outage.
   */
  isSetAside(broker: string): boolean;
  /** A connection attempt to `broker` (host:port, as kafkajs connects) failed, as kafka-log.ts hears of it. */
  connectionFailed(broker: string): void;
  /**
   * Addresses the brokers' metadata named (none of the bootstrap list) whose latest connection attempt failed: a
   * broker reached at its bootstrap address that advertises one this host cannot reach (advertised.listeners naming a
   * container's, a private network's or a port-forward's other side).
   */
  advertisedAway(): string[];
  /** `broker` (host:port, as kafkajs connects) is none of the bootstrap list: the brokers' metadata named it. */
  isAdvertised(broker: string): boolean;
  /** The certificate refusal (wrong CA, expired or wrong-host certificate, a client certificate refused) that stopped the bus, if one did. */
  tlsRefusal(): NodeJS.ErrnoException | undefined;
  /** kafkaFailure of `action`, with what these connections showed (a listener of another protocol, a refused certificate, addresses set aside). */
  failure(action: string, error: unknown, sent?: SentMessage): FltsError;
  /**
   * kafkajs gave up a connect, its retries over, for want of a connection to a bootstrap broker (KafkaJSConnectionError,
   * as such or as the cause of KafkaJSNumberOfRetriesExceeded), and nothing these connections saw explains it
   * otherwise (a listener of another protocol, a refused certificate): the address refused or did not answer every time.
   */
  isBootstrapGiveUp(error: unknown): boolean;
  /**
   * FLTS_BUS_UNAVAILABLE of a wait for the bootstrap brokers that ended unanswered after `wait` (kafka-failure.ts'
   * bootstrapUnanswered, the same words whoever waited and however the wait ended), `details` added; once closed, or
   * when the connections explain it otherwise, the failure that says so instead.
   */
  bootstrapUnanswered(action: string, wait: string, options: { latest?: string; cause?: unknown; details?: object }): FltsError;
  /** Ends the sockets still open; from now on no connection succeeds and no reconnect loop goes on. */
  closeAll(): void;
}

export interface KafkaConnectionsOptions {
  /** bus.kafka.securityProtocol: what the listeners are expected to speak. */
  securityProtocol?: string;
  /** bus.kafka.sasl.mechanism, named by a failure of a listener that does not enable it. */
  saslMechanism?: string;
  /** bus.kafka.ssl.caFile, named by a failure of a certificate that does not chain to it. */
  caFile?: string;
  /** Hears of a bootstrap address set aside while others are left (a warning naming it). */
  logger?: Logger;
  /** A connection to `broker` (host:port, as kafkajs connects) got its first answer. */
  onAnswered?: (broker: string) => void;
}

/** A bootstrap address that no retry can make work with these settings, and why. */
interface SetAside {
  broker: string;
  /** What a failure of the bus says of it: the mismatch's message names the address, a refusal's does not. */
  note: string;
  mismatch?: ListenerMismatch;
  refusal?: NodeJS.ErrnoException;
}

/** host:port as kafkajs reads a bootstrap entry (connectionPoolBuilder.js), so sockets and the list compare. */
function asConnected(entry: string): string {
  const [host, port] = entry.split(':');
  return `${host}:${Number(port)}`;
}

/**
 * The connections of one kafkajs client, so that closing the bus ends what kafkajs' own disconnects leave behind.
 *
 * When a broker restarts under a running consumer, kafkajs drops it from the client's broker pool
 * (ConsumerGroup.recoverFromFetch -> cluster.removeBroker) without disconnecting it, while the consumer group keeps
 * it as its coordinator: the next heartbeat reconnects it, and consumer.disconnect() sends its LeaveGroup through it
 * but only disconnects the brokers still in the pool. That connection (its socket and its request queue's timers)
 * kept the process of a closed bus alive until the broker dropped it as idle, ten minutes later. Destroying the
 * socket with an error runs kafkajs' own error path (Connection.disconnect), which stops those timers.
 *
 * A connect, a metadata refresh or a consumer restart still retrying when the bus closes cannot be cancelled
 * through kafkajs' API, and retries a refused connection (a retriable error) for its whole retry budget. Its next
 * attempt rebuilds the seed broker from `brokers`, though, and an empty list is a non-retriable error there: the
 * loop ends at its next try, within one retry interval (at most 1 s, see kafkajsRetries in kafka-bus.ts), instead
 * of retrying for half a minute or reconnecting.
 *
 * A bootstrap address whose listener certainly speaks another protocol, or that refused the certificate before any
 * connection was answered, is set aside: no retry can mend the settings for it. kafkajs retries a TLS refusal like
 * an outage (about 25 s) before flts hears of it, yet the CA file, certificate and key are read once, when the client
 * is made, so every retry would be refused alike. An address set aside leaves the bootstrap list, and until some
 * connection works its sockets fail at once (kafkajs retries a closed connection on the same seed broker, and moves
 * to the next one only on a connection error), so kafkajs goes on with the other addresses, and a warning names it.
 * Once every bootstrap address is set aside the bus stops (the list is empty, as when closed): a single broker
 * configured wrongly still ends a command or a daemon's startup within seconds.
 * Once a connection has been answered, the same settings worked: a refusal then comes from the broker's side (a
 * certificate rotated or expired under a running client, one broker of several set up wrongly, a load balancer
 * reaching a broker not yet renewed), which an operator can mend without restarting flts, so it is retried as before
 * (and kafkaFailure still calls it FLTS_BUS_TLS_FAILED if it lasts).
 */
export function createKafkaConnections(bootstrap: readonly string[], options: KafkaConnectionsOptions = {}): KafkaConnections {
  const { logger = silentLogger, onAnswered = () => {} } = options;
  const byAddress = new Map(bootstrap.map((entry) => [asConnected(entry), entry]));
  const open = new Set<net.Socket>();
  let closed = false;
  /** Some connection was answered: the TLS settings worked, and a refusal later is not the settings' fault. */
  let answered = false;
  const setAside = new Map<string, SetAside>();
  const advertisedAway = new Set<string>();
  const putAside = (aside: SetAside): void => {
    if (closed || !byAddress.has(aside.broker) || setAside.has(aside.broker)) return;
    setAside.set(aside.broker, aside);
    const left = [...byAddress.keys()].filter((address) => !setAside.has(address));
    if (left.length > 0) logger.warn({ broker: aside.broker, reason: aside.note, brokers: left.map((address) => redactSecrets(byAddress.get(address)!)) }, 'bus_kafka_broker_set_aside');
  };
  const listeners = createListenerWatch(expectedListener(options.securityProtocol), undefined, (mismatch) => putAside({ broker: mismatch.broker, note: mismatch.message, mismatch }));
  const stopped = (): boolean => setAside.size === byAddress.size;
  const asides = (): SetAside[] => [...setAside.values()];
  const hopeless = (): boolean => closed || stopped();
  const stopping = (): SetAside | undefined => (stopped() ? (asides().find((aside) => aside.mismatch) ?? asides()[0]) : undefined);
  const hopelessReason = (): string => (closed ? BUS_CLOSED_REASON : (stopping()!.mismatch?.message ?? stopping()!.refusal!.message));
  const mismatch = (): ListenerMismatch | undefined => {
    const found = stopping()?.mismatch ?? listeners.mismatch();
    return found?.definite && !stopped() ? undefined : found;
  };
  const failure = (action: string, error: unknown, sent?: SentMessage): FltsError => {
    const listener = mismatch();
    // With one address its own failure says it all; with several, each set aside is named.
    const notes = byAddress.size > 1 ? asides().filter((aside) => !listener || aside.mismatch !== listener).map((aside) => aside.note) : [];
    return kafkaFailure(action, [...bootstrap], error, { listener, tlsRefusal: stopping()?.refusal, setAside: notes, sent, saslMechanism: options.saslMechanism, caFile: options.caFile, advertisedAway: [...advertisedAway] });
  };
  return {
    brokers: () => (hopeless() ? [] : [...byAddress].filter(([address]) => !setAside.has(address)).map(([, entry]) => entry)),
    // As kafkajs' own factory (src/network/socketFactory.js) does: TLS when the client has `ssl` options, with the
    // host name sent for SNI and checked against the certificate unless it is an IP address.
    socketFactory: ({ host, port, ssl, onConnect }) => {
      const broker = `${host}:${port}`;
      if (hopeless()) return new net.Socket().destroy(new Error(hopelessReason()));
      const aside = setAside.get(broker);
      if (aside && !listeners.proven()) return new net.Socket().destroy(new Error(aside.note));
      const socket = ssl ? tls.connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }), ...ssl }, onConnect) : net.connect({ host, port }, onConnect);
      // The watch and these listeners come before kafkajs' own (added once this returns): its retry loop rebuilds the
      // seed broker from `brokers` right after hearing of the error, and must then find this address set aside.
      listeners.watch(socket, broker);
      socket.once('data', () => {
        answered = true;
        advertisedAway.delete(broker);
        onAnswered(broker);
      });
      // With TLS 1.3 a refused client certificate arrives as an alert after the client's handshake is done, so the
      // handshake alone does not prove the settings: an answer does.
      socket.once('error', (error: NodeJS.ErrnoException) => {
        if (!answered && isTlsRefusal(error.code)) putAside({ broker, note: `broker ${broker} refused TLS (${error.code}): ${error.message}`, refusal: error });
      });
      socket.setKeepAlive(true, KEEP_ALIVE_DELAY_MS);
      // kafkajs' Connection.disconnect() unrefs its socket at every call, also once it is closed; Node answers an unref
      // of a socket without a handle by waiting for its 'connect', which a closed one never has. A consumer that
      // kafkajs restarts over and over (a topic deleted under it) disconnects the same closed connection each time:
      // one listener more on it per restart, and Node's MaxListenersExceededWarning, stack and all, on stderr among
      // the JSON log lines. A closed socket holds nothing for an unref to let go of.
      const unref = socket.unref.bind(socket);
      socket.unref = () => (socket.destroyed ? socket : unref());
      open.add(socket);
      socket.once('close', () => open.delete(socket));
      return socket;
    },
    get closed() {
      return closed;
    },
    mismatch,
    isSetAside: (broker) => setAside.has(broker),
    connectionFailed: (broker) => {
      if (!byAddress.has(broker)) advertisedAway.add(broker);
    },
    advertisedAway: () => [...advertisedAway],
    isAdvertised: (broker) => !byAddress.has(broker),
    tlsRefusal: () => stopping()?.refusal,
    failure,
    isBootstrapGiveUp(error) {
      if (closed || error instanceof FltsError) return false;
      let cause: unknown = error;
      for (let depth = 0; depth < 5 && cause !== null && typeof cause === 'object'; depth += 1, cause = (cause as { cause?: unknown }).cause) {
        if ((cause as { name?: unknown }).name === 'KafkaJSConnectionError') return failure('connect', error).code === 'FLTS_BUS_UNAVAILABLE';
      }
      return false;
    },
    bootstrapUnanswered(action, wait, { latest, cause, details = {} }) {
      const given = bootstrapUnanswered(bootstrap, wait, latest ?? (cause instanceof Error ? cause.message : undefined));
      if (cause !== undefined) given.cause = cause;
      const coded = failure(action, closed ? new Error(BUS_CLOSED_REASON, { cause: given }) : given);
      if (coded.code !== 'FLTS_BUS_UNAVAILABLE' || closed) return coded;
      return new FltsError(coded.code, coded.message, { cause: coded.cause, details: { ...coded.details, ...details } });
    },
    closeAll() {
      closed = true;
      for (const socket of open) socket.destroy(new Error(BUS_CLOSED_REASON));
    },
  };
}
