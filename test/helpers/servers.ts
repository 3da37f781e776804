import http from 'node:http';
import { inject } from 'vitest';
import type { ServerGrant, ServerKind, Vars } from '../setup/test-servers.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the server broker of test/setup/test-servers.ts. */
    testServers: string;
  }
}

export type { ServerKind, Vars };

/** What a test file may use: the servers' variables, or the reason its tests skip (a missing toolchain). */
export type Servers = { skip?: undefined; vars: Vars } | { skip: string; vars: Vars };

function post(url: string): Promise<ServerGrant> {
  return new Promise((resolve, reject) => {
    // No timeout: a first run may resolve and build the servers before answering.
    const request = http.request(url, { method: 'POST' }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk) => (body += chunk));
      response.on('end', () => (response.statusCode === 200 ? resolve(JSON.parse(body) as ServerGrant) : reject(new Error(`${url}: HTTP ${response.statusCode}`))));
    });
    request.on('error', reject).end();
  });
}

/**
 * The servers of one kind, shared by every test file of the run (started by the suite's global setup on the
 * first request, or reused when already running). Their variables are also put into this file's process.env,
 * so child processes inherit them. Throws when they should be there but could not be started.
 *   const infra = await useServers('infra');
 *   describe.skipIf(infra.skip)(`... ${skipNote(infra)}`, ...)
 */
export async function useServers(kind: ServerKind): Promise<Servers> {
  const grant = await post(`${inject('testServers')}/servers/${kind}`);
  if (grant.status === 'failed') throw new Error(`${kind}: ${grant.reason}`);
  if (grant.status === 'skip') return { skip: grant.reason, vars: {} };
  Object.assign(process.env, grant.vars);
  return { vars: grant.vars };
}

/** " (skipped: <reason>)" for a suite title, or "". */
export function skipNote(servers: Servers): string {
  return servers.skip ? ` (skipped: ${servers.skip})` : '';
}
