import { readFile } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { isIPv4, type AddressInfo, type Socket } from 'node:net';

/**
 * An address as Linux writes it in /proc/net/tcp and tcp6: the bytes of each 32-bit word in host (little-endian)
 * order, in upper-case hex ('127.0.0.1' is 0100007F). Undefined for a string that is not an address.
 */
export function procNetAddress(address: string): string | undefined {
  const bytes = isIPv4(address) ? ipv4Bytes(address) : ipv6Bytes(address.replace(/%.*$/, ''));
  if (!bytes) return undefined;
  let hex = '';
  for (let word = 0; word < bytes.length; word += 4) {
    for (let i = 3; i >= 0; i--) hex += bytes[word + i].toString(16).padStart(2, '0');
  }
  return hex.toUpperCase();
}

function ipv4Bytes(address: string): number[] {
  return address.split('.').map(Number);
}

function ipv6Bytes(address: string): number[] | undefined {
  const [head, tail, ...rest] = address.split('::');
  if (rest.length > 0) return undefined;
  const groups = (part: string | undefined): number[] | undefined => {
    if (!part) return [];
    const out: number[] = [];
    for (const group of part.split(':')) {
      if (isIPv4(group)) out.push(...ipv4Bytes(group));
      else if (/^[0-9a-f]{1,4}$/i.test(group)) out.push(parseInt(group, 16) >> 8, parseInt(group, 16) & 0xff);
      else return undefined;
    }
    return out;
  };
  const front = groups(head);
  const back = groups(tail);
  if (!front || !back) return undefined;
  const fill = 16 - front.length - back.length;
  if (fill < 0 || (tail === undefined && fill !== 0)) return undefined;
  return [...front, ...new Array<number>(fill).fill(0), ...back];
}

/**
 * From the text of /proc/net/tcp or tcp6: for each connection to `localPort`, the bytes it has sent and its peer
 * not yet acknowledged (`tx_queue`), keyed by the peer's address (as `procNetAddress` writes it) and port.
 */
export function unacknowledgedBytes(text: string, localPort: number, into = new Map<string, number>()): Map<string, number> {
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 5 || !/^[0-9A-F]+:[0-9A-F]{4}$/.test(fields[1])) continue;
    // 0A is the listening socket itself.
    if (parseInt(fields[1].slice(-4), 16) !== localPort || fields[3] === '0A') continue;
    const [remoteAddress, remotePort] = fields[2].split(':');
    const key = `${remoteAddress}:${parseInt(remotePort, 16)}`;
    // A closed connection of the same peer and port (TIME_WAIT) may still be listed, with nothing queued.
    into.set(key, Math.max(into.get(key) ?? 0, parseInt(fields[4].split(':')[0], 16)));
  }
  return into;
}

/** Why a connection was reset: its client has not taken answers the kernel holds, or Node holds, or it pipelined too many requests. */
export type UnreadReason = 'unacknowledged' | 'unsent' | 'pipelined';

export interface UnreadAnswerOptions {
  /** How long after an answer has left the server its client has to take it (acknowledge its last byte). */
  stallMs: number;
  /** How often answers past their time are looked at. */
  checkEveryMs: number;
  /** Most requests one connection may have in flight (pipelined, their answers not yet taken); default MAX_PIPELINED_REQUESTS. */
  maxPipelined?: number;
  /** Hears of each connection reset: why, with the bytes still unacknowledged or unsent, or the requests in flight. */
  onReset?: (socket: Socket, reason: UnreadReason, amount: number) => void;
}

/** Connections reset for too many pipelined requests: their requests left unanswered are counted as such, not as overload or a client gone. */
const resetForPipelining = new WeakSet<Socket>();

/** Whether `socket` was reset for carrying more pipelined requests than `maxPipelined`. */
export function wasResetForPipelining(socket: Socket | null | undefined): boolean {
  return socket !== null && socket !== undefined && resetForPipelining.has(socket);
}

/**
 * Requests one HTTP/1.1 connection may have in flight, as the gRPC port allows 100 calls per connection. Node stops
 * reading a connection whose answers are not taken, but only after the chunk it has read (64 KB, over 1,300 small
 * GETs): each of those is handled and its answer kept in memory until the client takes the ones before it.
 */
export const MAX_PIPELINED_REQUESTS = 100;

/**
 * Resets a keep-alive connection whose client does not take its answers. After its last answer: `stallMs` after the
 * server handed it over. Node counts an answer as sent once the kernel has it, and the kernel takes up to a few MB
 * (its send buffer and the client's receive buffer); a client that stops reading then looks like an idle one, kept
 * for the keep-alive timeout, and its orphaned socket kept the unsent bytes in kernel memory after that for as long
 * as the client lived. Node cannot ask the kernel (no TCP_USER_TIMEOUT, no SIOCOUTQ), so the send queues are read
 * from /proc/net/tcp, only when some connection has been idle since an answer for `stallMs`; where that file does
 * not exist (not Linux), that part is not done. A reset (RST) rather than a close, so the kernel drops the unsent
 * bytes at once.
 * Answers Node itself still holds (the kernel's queue is full, or they wait behind an earlier pipelined answer)
 * reset their connection once none has been taken for `stallMs`: only the socket's inactivity timeout closed it
 * before, 34 to 64 s later with the defaults. A connection with more than `maxPipelined` requests in flight is reset
 * as the one too many is read, before its answer (and those of the rest of the chunk) is built.
 */
export function resetUnreadAnswers(server: Server, options: UnreadAnswerOptions): { stop(): void } {
  const maxPipelined = options.maxPipelined ?? MAX_PIPELINED_REQUESTS;
  /** When each connection's last answer was handed over, for connections idle since. */
  const answeredAt = new Map<Socket, number>();
  /** Each connection's requests whose answers are not yet taken by the kernel. */
  const inFlight = new Map<Socket, Set<ServerResponse>>();
  /** When an answer Node holds was first seen waiting, or one was last handed over since: per connection. */
  const unsentSince = new Map<Socket, number>();
  let checking = false;
  let readsProc = true;

  const reset = (socket: Socket, reason: UnreadReason, amount: number): void => {
    if (reason === 'pipelined') resetForPipelining.add(socket);
    options.onReset?.(socket, reason, amount);
    socket.resetAndDestroy();
  };
  const onRequest = (request: IncomingMessage, response: ServerResponse): void => {
    const socket = request.socket;
    if (socket.destroyed) return;
    answeredAt.delete(socket);
    let responses = inFlight.get(socket);
    if (!responses) inFlight.set(socket, (responses = new Set()));
    responses.add(response);
    if (responses.size > maxPipelined) {
      reset(socket, 'pipelined', responses.size);
      return;
    }
    // Handed over: progress, so the answers still waiting on this connection get a full period again.
    response.once('finish', () => {
      if (unsentSince.has(socket)) unsentSince.set(socket, Date.now());
    });
    response.once('close', () => {
      responses.delete(response);
      if (responses.size > 0) return;
      inFlight.delete(socket);
      unsentSince.delete(socket);
      if (readsProc && response.writableFinished && !socket.destroyed) answeredAt.set(socket, Date.now());
    });
  };
  const onConnection = (socket: Socket): void => {
    socket.once('close', () => {
      answeredAt.delete(socket);
      inFlight.delete(socket);
      unsentSince.delete(socket);
    });
  };

  function checkUnsent(now: number): void {
    for (const [socket, responses] of inFlight) {
      let unsent = 0;
      for (const response of responses) if (response.writableEnded && !response.writableFinished) unsent += response.writableLength;
      if (unsent === 0) {
        unsentSince.delete(socket);
        continue;
      }
      const since = unsentSince.get(socket);
      if (since === undefined) unsentSince.set(socket, now);
      else if (since <= now - options.stallMs) reset(socket, 'unsent', unsent);
    }
  }

  async function checkUnacknowledged(): Promise<void> {
    const due = Date.now() - options.stallMs;
    const stale = [...answeredAt].filter(([, at]) => at <= due);
    if (stale.length === 0) return;
    const address = server.address() as AddressInfo | null;
    if (!address) return;
    const queues = new Map<string, number>();
    let found = false;
    for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
      const text = await readFile(file, 'utf8').catch(() => undefined);
      if (text === undefined) continue;
      found = true;
      unacknowledgedBytes(text, address.port, queues);
    }
    if (!found) {
      readsProc = false;
      answeredAt.clear();
      return;
    }
    for (const [socket, at] of stale) {
      // A new request (or a close) since the look began: the connection is not idle after that answer any more.
      if (answeredAt.get(socket) !== at) continue;
      answeredAt.delete(socket);
      const peer = socket.remoteAddress === undefined ? undefined : procNetAddress(socket.remoteAddress);
      const unacknowledged = peer === undefined ? 0 : (queues.get(`${peer}:${socket.remotePort}`) ?? 0);
      if (unacknowledged === 0) continue;
      reset(socket, 'unacknowledged', unacknowledged);
    }
  }

  const timer = setInterval(() => {
    checkUnsent(Date.now());
    if (checking || !readsProc) return;
    checking = true;
    void checkUnacknowledged().finally(() => (checking = false));
  }, options.checkEveryMs);
  timer.unref();
  // Heard before the server's own handler: the one request too many resets its connection before its route runs
  // (an async hook's body runs at once, so a check of the socket there passed, and the route asked the store once more).
  server.prependListener('request', onRequest);
  server.on('connection', onConnection);

  function stop(): void {
    clearInterval(timer);
    server.off('request', onRequest);
    server.off('connection', onConnection);
    answeredAt.clear();
    inFlight.clear();
    unsentSince.clear();
  }
  return { stop };
}
