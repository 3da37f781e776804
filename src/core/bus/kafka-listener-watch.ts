import type net from 'node:net';
import { answersPlainKafka } from './kafka-plain-probe.js';

/** How flts talks to the brokers (bus.kafka.securityProtocol), as far as a connection's bytes can contradict it. */
export interface ListenerExpectation {
  protocol: string;
  tls: boolean;
  sasl: boolean;
}

/**
 * What the bytes of closed connections say about a listener that speaks another protocol than flts does.
 * `definite` ones are settings to fix (nothing else answers like that); `closed-at-connect` is also what a proxy or
 * load balancer without a broker behind it does, so it is only worth saying while flts keeps retrying.
 */
export type ListenerMismatch =
  | { kind: 'tls-listener'; definite: true; broker: string; message: string }
  | { kind: 'sasl-listener'; definite: true; broker: string; message: string }
  | { kind: 'plain-listener'; definite: true; broker: string; message: string }
  | { kind: 'closed-at-connect'; definite: false; broker: string; message: string };

export interface ListenerWatch {
  /** Watches one socket of kafkajs (before any byte is read): TLS or not, as `expected.tls` says. */
  watch(socket: net.Socket, broker: string): void;
  /** The latest mismatch seen since the last connection that worked as expected, if any. */
  mismatch(): ListenerMismatch | undefined;
  /** Some connection got two answers: flts' settings work with some listener, so no mismatch is definite any more. */
  proven(): boolean;
}

/** What one address's connections showed so far: each address is judged by its own connections alone. */
interface AddressState {
  mismatch?: ListenerMismatch;
  /** The last connection was answered once (ApiVersions) and then closed by the broker. */
  answeredThenClosed: boolean;
  probing: boolean;
}

/** What `securityProtocol` (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL) makes flts speak. */
export function expectedListener(protocol = 'PLAINTEXT'): ListenerExpectation {
  return { protocol, tls: protocol.endsWith('SSL'), sasl: protocol.startsWith('SASL_') };
}

/** The first bytes of a TLS record: alert (21) or handshake (22), then major version 3 (SSL 3.0 to TLS 1.3). */
function isTlsRecord(bytes: Buffer): boolean {
  return bytes.length >= 2 && (bytes[0] === 0x15 || bytes[0] === 0x16) && bytes[1] === 0x03;
}

/**
 * Tells a listener that speaks another protocol from a broker that is down, from the connections themselves (kafkajs
 * only reports "Closed connection" or a reset, exactly as for an outage):
 * - a plain client (PLAINTEXT, SASL_PLAINTEXT) answered by a TLS record: a TLS listener, which answers a request it
 *   cannot read as TLS with an alert before closing (Kafka: 15 03 03 00 02 02 50);
 * - a client without SASL (PLAINTEXT, SSL) whose ApiVersions is answered and whose next request closes the
 *   connection: a SASL listener, which answers ApiVersions before the login and closes on anything else. kafkajs asks
 *   ApiVersions once per broker, so later connections are closed before any answer. A broker stopping between two
 *   requests does that once too, and then refuses connections: it counts when the next connection is also closed
 *   by the broker, not refused;
 * - a TLS handshake the broker closed before a byte came back: a plain listener (Kafka reads the ClientHello as a
 *   request too large and closes) once the same address answers a request without TLS (kafka-plain-probe.ts),
 *   asked then; until it has, and if it does not, what a proxy without a broker behind it does too: not definite;
 * - any other connection the broker closed before a byte came back: not definite either.
 * A connection that gets two answers resets it all: the listener speaks flts' protocol. From then on nothing is
 * definite for this client's lifetime: a listener does not change its protocol under a running client, whereas a
 * broker restarting (behind a mesh sidecar that accepts and closes while it is down) can close connections in any
 * of the patterns above, and a definite mismatch sets its address aside for good (kafka-connections.ts).
 * Judged at the peer's end or reset, before kafkajs hears of it, so the failure kafkajs reports can say why.
 * Each address is judged by its own connections (with several bootstrap brokers, kafkajs alternates between them,
 * and one's refused connection says nothing of another's answer); `onDefinite` hears of each definite mismatch at
 * once (the plain listener's once the question without TLS is answered).
 */
export function createListenerWatch(
  expected: ListenerExpectation,
  probe: (host: string, port: number) => Promise<boolean> = (host, port) => answersPlainKafka(host, port, 3_000),
  onDefinite: (mismatch: ListenerMismatch) => void = () => {},
): ListenerWatch {
  const addresses = new Map<string, AddressState>();
  /** The address whose mismatch was seen last. */
  let latest: string | undefined;
  /** Some connection got two answers: the listener speaks flts' protocol, whatever its connections do later. */
  let proven = false;
  const other = `FLTS_KAFKA_SECURITY_PROTOCOL is ${expected.protocol}`;
  const stateOf = (broker: string): AddressState => {
    let state = addresses.get(broker);
    if (!state) addresses.set(broker, (state = { answeredThenClosed: false, probing: false }));
    return state;
  };
  const seen = (state: AddressState, mismatch: ListenerMismatch): void => {
    state.mismatch = mismatch;
    latest = mismatch.broker;
    if (mismatch.definite) onDefinite(mismatch);
  };

  function ended(broker: string, first: Buffer, receivedBytes: number, answeredOnce: boolean, peerClosed: boolean, secured: boolean): void {
    const state = stateOf(broker);
    if (!proven && receivedBytes > 0 && !expected.tls && isTlsRecord(first)) {
      if (state.mismatch?.definite !== true) seen(state, { kind: 'tls-listener', definite: true, broker, message: `broker ${broker} answered with a TLS record (${first.subarray(0, 7).toString('hex')}): its listener expects TLS (SSL or SASL_SSL), but ${other}` });
      return;
    }
    if (!peerClosed) {
      state.answeredThenClosed = false;
      return;
    }
    if (!proven && !expected.sasl && state.answeredThenClosed && (receivedBytes === 0 || answeredOnce)) {
      if (state.mismatch?.definite !== true) seen(state, { kind: 'sasl-listener', definite: true, broker, message: `broker ${broker} answered ApiVersions and closed the connection at the next request, and closed the next connection too, as a listener that expects a SASL login does (SASL_PLAINTEXT or SASL_SSL), but ${other}` });
      return;
    }
    state.answeredThenClosed = !expected.sasl && answeredOnce;
    if ((receivedBytes === 0 || state.answeredThenClosed) && state.mismatch?.definite !== true) {
      const handshake = expected.tls && !secured;
      const stage = handshake ? 'during the TLS handshake' : state.answeredThenClosed ? 'after its first answer' : 'before answering';
      seen(state, { kind: 'closed-at-connect', definite: false, broker, message: `connection closed by broker ${broker} right after connect (${stage}): check the listener's protocol (TLS/SASL) matches the settings (${other})` });
      if (handshake && receivedBytes === 0 && !proven) askPlain(broker, state);
    }
  }

  function askPlain(broker: string, state: AddressState): void {
    if (state.probing) return;
    state.probing = true;
    const at = broker.lastIndexOf(':');
    void probe(broker.slice(0, at), Number(broker.slice(at + 1))).then((plain) => {
      state.probing = false;
      if (plain && !proven && state.mismatch?.definite !== true) seen(state, { kind: 'plain-listener', definite: true, broker, message: `broker ${broker} closed the TLS handshake without a byte and answers a Kafka request without TLS: its listener expects no TLS (PLAINTEXT or SASL_PLAINTEXT), but ${other}` });
    });
  }

  return {
    watch(socket, broker) {
      let first = Buffer.alloc(0);
      let receivedBytes = 0;
      let peerClosed = false;
      let secured = false;
      let judged = false;
      // A Kafka response is a 4-byte size and that many bytes: the first one is complete when this many arrived.
      const firstAnswerEnd = (): number => (first.length >= 4 ? first.readInt32BE(0) + 4 : Number.POSITIVE_INFINITY);
      const judge = (): void => {
        if (judged) return;
        judged = true;
        ended(broker, first, receivedBytes, receivedBytes === firstAnswerEnd(), peerClosed, secured);
      };
      socket.once('secureConnect', () => (secured = true));
      socket.on('data', (chunk: Buffer) => {
        if (first.length < 8) first = Buffer.concat([first, chunk.subarray(0, 8 - first.length)]);
        receivedBytes += chunk.length;
        if (receivedBytes > firstAnswerEnd() && !proven) {
          proven = true;
          addresses.clear();
          latest = undefined;
        }
      });
      // 'end' is the peer's FIN; after flts' own end() it is only the reply to it.
      socket.once('end', () => {
        peerClosed = !socket.writableEnded;
        judge();
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        peerClosed = error.code === 'ECONNRESET' || error.code === 'EPIPE';
        judge();
      });
      socket.once('close', judge);
    },
    mismatch: () => (latest === undefined ? undefined : addresses.get(latest)?.mismatch),
    proven: () => proven,
  };
}
