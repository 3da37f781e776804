import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { withTimeout } from '../retry.js';

/** An address a host resolves to, as dns.lookup answers. */
export interface HostAddress {
  address: string;
  family: number;
}

/** Every address a host name resolves to; rejects when it does not. */
export type HostLookup = (host: string) => Promise<readonly HostAddress[]>;

/**
 * Every address, not only the first Node's own listen takes: fastify binds each address of `localhost`, and which
 * address of a name comes first is the resolver's order, which may change between two starts.
 */
export const lookupEveryAddress: HostLookup = (host) => lookup(host, { all: true });

/** How long a name is given to resolve before the check falls back to comparing the names as written. */
export const HOST_LOOKUP_TIMEOUT_MS = 2_000;

/**
 * The addresses fastify's listen binds for `host` beside `bound`, the one Node's own listen took: every other address
 * of `localhost` (127.0.0.1 and ::1 where both are in /etc/hosts), none for any other host, as fastify binds only
 * `localhost` twice. Another listener that binds these too is reached by a client whichever family its resolver gives
 * it first, as the HTTP API is. None when the name does not resolve in time: the one listen then stands alone, as
 * fastify's does.
 */
export async function addressesBeside(host: string, bound: string, lookupHost: HostLookup = lookupEveryAddress, timeoutMs = HOST_LOOKUP_TIMEOUT_MS): Promise<string[]> {
  if (host !== 'localhost') return [];
  try {
    const addresses = await withTimeout(lookupHost(host), timeoutMs);
    return [...new Set(addresses.map(({ address }) => address))].filter((address) => address !== bound);
  } catch {
    return [];
  }
}

const IPV6_ANY = '::';
const IPV4_ANY = '0.0.0.0';

const typeOf = (family: number): 'ipv4' | 'ipv6' => (family === 6 ? 'ipv6' : 'ipv4');

function listOf(address: string, type: 'ipv4' | 'ipv6', prefix?: number): BlockList {
  const list = new BlockList();
  if (prefix === undefined) list.addAddress(address, type);
  else list.addSubnet(address, prefix, type);
  return list;
}

/** `::` however it is spelt (`0:0::0`). */
const isIpv6Any = ({ address, family }: HostAddress): boolean => family === 6 && listOf(IPV6_ANY, 'ipv6').check(address, 'ipv6');
const isIpv4Any = ({ address, family }: HostAddress): boolean => family === 4 && address === IPV4_ANY;

/**
 * What a listener bound to `address` takes, as Linux and Node decide it: `::` every address of both families (Node
 * listens dual-stack), `0.0.0.0` every IPv4 address (IPv4-mapped IPv6 ones included) but no other IPv6 address, any
 * other address itself, however it is spelt (`0:0::1` is `::1`, `::ffff:127.0.0.1` is `127.0.0.1`).
 */
function taken(bound: HostAddress): BlockList {
  if (isIpv6Any(bound)) {
    const list = listOf(IPV6_ANY, 'ipv6', 0);
    list.addSubnet(IPV4_ANY, 0, 'ipv4');
    return list;
  }
  if (isIpv4Any(bound)) return listOf(IPV4_ANY, 'ipv4', 0);
  return listOf(bound.address, typeOf(bound.family));
}

function overlap(a: HostAddress, b: HostAddress): boolean {
  return taken(a).check(b.address, typeOf(b.family)) || taken(b).check(a.address, typeOf(a.family));
}

/** The addresses `host` is bound to; undefined when it did not resolve in time (its listen then says why). */
async function addressesOf(host: string, lookupHost: HostLookup, timeoutMs: number): Promise<readonly HostAddress[] | undefined> {
  // No host is Node's every address; dns.lookup('') is deprecated.
  if (host === '') return [{ address: IPV6_ANY, family: 6 }];
  const family = isIP(host);
  if (family !== 0) return [{ address: host, family }];
  try {
    return await withTimeout(lookupHost(host), timeoutMs);
  } catch {
    return undefined;
  }
}

/**
 * Whether listeners on `hostA` and `hostB` with one port clash: one address of each overlaps. The same name always
 * does. A name that does not resolve within `timeoutMs` (its listen will say so, or resolve it later) clashes with
 * the same name only, and with an address that takes every address.
 */
export async function hostsOverlap(hostA: string, hostB: string, lookupHost: HostLookup = lookupEveryAddress, timeoutMs = HOST_LOOKUP_TIMEOUT_MS): Promise<boolean> {
  if (hostA.toLowerCase() === hostB.toLowerCase()) return true;
  const [a, b] = await Promise.all([addressesOf(hostA, lookupHost, timeoutMs), addressesOf(hostB, lookupHost, timeoutMs)]);
  if (!a || !b) return [...(a ?? []), ...(b ?? [])].some((bound) => isIpv6Any(bound) || isIpv4Any(bound));
  return a.some((one) => b.some((other) => overlap(one, other)));
}
