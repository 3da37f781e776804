import os from 'node:os';
import type { Settings } from '../config/settings.js';

/** `daemon.replicaId`, or `<host>-<pid>`: unique per serving process, safe in a group id and an object key. */
export function servingReplicaId(settings: Settings): string {
  const id = settings.daemon.replicaId || `${os.hostname()}-${process.pid}`;
  return id.replace(/[^A-Za-z0-9._-]/g, '_');
}
