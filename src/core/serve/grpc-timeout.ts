/** A grpc-timeout as the protocol words it (PROTOCOL-HTTP2.md): 1 to 8 digits, then its unit, nothing else. */
const GRPC_TIMEOUT = /^(\d{1,8})([HMSmun])$/;

const MS_PER_UNIT: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/** The longest delay a Node timer keeps (2^31-1 ms, 24.8 days): one longer fires at once. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

/** The deadline a grpc-timeout gives a call, in milliseconds; undefined when it is no grpc-timeout. */
function grpcTimeoutMs(value: string): number | undefined {
  const match = GRPC_TIMEOUT.exec(value);
  return match ? Number(match[1]) * MS_PER_UNIT[match[2]] : undefined;
}

/** What grpc-js is handed for a call's grpc-timeout: the header as sent, none, or a value it refuses. */
export type GrpcTimeoutHeader = { kind: 'as-sent' } | { kind: 'none' } | { kind: 'malformed' };

/**
 * How grpc-js is to read a call's grpc-timeout. Left alone, it finds the first digits and unit anywhere in the value
 * (`x5S`, nine digits' last eight) and turns the milliseconds into a 32-bit integer: a deadline past 24.8 days (a
 * grpc-js client's 30-day deadline is `2592000S`) wraps round, most often to a negative delay, and the call ended
 * DEADLINE_EXCEEDED at once. A deadline that long is none for a call here (its message still has the request
 * timeout to arrive), so it is dropped, as grpc-go clamps one it cannot hold; one not of the protocol's form is
 * refused, as grpc-go refuses it.
 */
export function grpcTimeoutHeader(value: string): GrpcTimeoutHeader {
  const ms = grpcTimeoutMs(value);
  if (ms === undefined) return { kind: 'malformed' };
  return ms > LONGEST_TIMER_MS ? { kind: 'none' } : { kind: 'as-sent' };
}
