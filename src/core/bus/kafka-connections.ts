import net from 'node:net';
import tls from 'node:tls';
import type { BrokersFunction, ISocketFactoryArgs } from 'kafkajs';
import type { FltsError } from '../errors.js';
import { isTlsRefusal } from '../tls-files.js';
import { kafkaFailure } from './kafka-failure.js';
import { createListenerWatch, expectedListener, type ListenerMismatch } from './kafka-listener-watch.js';

/** kafkajs' own socket factory turns TCP keep-alive on with this delay; this one does the same. */
const KEEP_ALIVE_DELAY_MS = 60_000;

/** Why a connection of a closed bus ended or failed; kafkajs logs it as a connection error, flts as debug. */
export const BUS_CLOSED_REASON = 'the flts Kafka bus is closed';

/** kafkajs passes `ssl: null` to a client configured without TLS, although its types say otherwise. */
type SocketArgs = Omit<ISocketFactoryArgs, 'ssl'> & { ssl?: tls.ConnectionOptions | null };

export interface KafkaConnections {
  /** For `new Kafka({ brokers })`: the bootstrap list while open, none once closed. */
  brokers: BrokersFunction;
  /** For `new Kafka({ socketFactory })`: every connection of that client's producers, consumers and admins. */
  socketFactory: (args: SocketArgs) => net.Socket;
  readonly closed: boolean;
  /** A listener that speaks another protocol than flts, as its connections showed (kafka-listener-watch.ts). */
  mismatch(): ListenerMismatch | undefined;
  /** The certificate refusal (wrong CA, expired or wrong-host certificate, a client certificate refused) that stopped the bus, if one did. */
  tlsRefusal(): NodeJS.ErrnoException | undefined;
  /** kafkaFailure of `action`, with what these connections showed (a listener of another protocol, a refused certificate). */
  failure(action: string, error: unknown): FltsError;
  /** Ends the sockets still open; from now on no connection succeeds and no reconnect loop goes on. */
  closeAll(): void;
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
 * So does one against a listener that certainly speaks another protocol: no retry can mend the settings.
 *
 * And so does a refused certificate before any connection was answered: kafkajs retries a TLS refusal like an
 * outage (about 25 s) before flts hears of it, yet the CA file, certificate and key are read once, when the client
 * is made, so every retry would be refused alike. Once a connection has been answered, the same settings worked:
 * a refusal then comes from the broker's side (a certificate rotated or expired under a running client, one broker
 * of several set up wrongly, a load balancer reaching a broker not yet renewed), which an operator can mend without
 * restarting flts, so it is retried as before (and kafkaFailure still calls it FLTS_BUS_TLS_FAILED if it lasts).
 */
export function createKafkaConnections(bootstrap: readonly string[], securityProtocol?: string): KafkaConnections {
  const open = new Set<net.Socket>();
  const listeners = createListenerWatch(expectedListener(securityProtocol));
  let closed = false;
  let refusal: NodeJS.ErrnoException | undefined;
  /** Some connection was answered: the TLS settings worked, and a refusal later is not the settings' fault. */
  let answered = false;
  const hopeless = (): boolean => closed || refusal !== undefined || listeners.mismatch()?.definite === true;
  const hopelessReason = (): string => (closed ? BUS_CLOSED_REASON : (refusal?.message ?? listeners.mismatch()!.message));
  return {
    brokers: () => (hopeless() ? [] : [...bootstrap]),
    // As kafkajs' own factory (src/network/socketFactory.js) does: TLS when the client has `ssl` options, with the
    // host name sent for SNI and checked against the certificate unless it is an IP address.
    socketFactory: ({ host, port, ssl, onConnect }) => {
      if (hopeless()) return new net.Socket().destroy(new Error(hopelessReason()));
      const socket = ssl ? tls.connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }), ...ssl }, onConnect) : net.connect({ host, port }, onConnect);
      listeners.watch(socket, `${host}:${port}`);
      // Before kafkajs' own listeners (added once this returns): its retry loop rebuilds the seed broker from
      // `brokers` right after hearing of the error, and must then find none.
      socket.once('data', () => (answered = true));
      // With TLS 1.3 a refused client certificate arrives as an alert after the client's handshake is done, so the
      // handshake alone does not prove the settings: an answer does.
      socket.once('error', (error: NodeJS.ErrnoException) => {
        if (!answered && !closed && refusal === undefined && isTlsRefusal(error.code)) refusal = error;
      });
      socket.setKeepAlive(true, KEEP_ALIVE_DELAY_MS);
      open.add(socket);
      socket.once('close', () => open.delete(socket));
      return socket;
    },
    get closed() {
      return closed;
    },
    mismatch: () => listeners.mismatch(),
    tlsRefusal: () => refusal,
    failure: (action, error) => kafkaFailure(action, [...bootstrap], error, listeners.mismatch(), refusal),
    closeAll() {
      closed = true;
      for (const socket of open) socket.destroy(new Error(BUS_CLOSED_REASON));
    },
  };
}
