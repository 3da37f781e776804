import path from 'node:path';
import type { Settings } from '../config/settings.js';
import { invalidArgument } from '../library-arguments.js';
import type { Logger } from '../logger.js';
import { createFsStore } from './fs-store.js';
import type { ObjectStore } from './object-store.js';

export type { ObjectStore, ObjectInfo, ObjectBody } from './object-store.js';
export { createFsStore } from './fs-store.js';
export type { S3StoreOptions } from './s3-store.js';
export { assertObjectKey, assertBucketName, joinKey } from './keys.js';
export { getJson, getJsonIfExists, putJson, parseLenientJson } from './json-objects.js';

/** The embedded store keeps its buckets under `<home>/store`. */
export function fsStoreRoot(settings: Settings): string {
  return path.resolve(settings.home, 'store');
}

/** What the caller knows beyond the settings: where warnings go, and which settings came from the environment. */
export interface ObjectStoreContext {
  logger?: Logger;
  /** The environment variable each setting taken from the environment came from (ResolvedSettings.envNames). */
  envNames?: Readonly<Record<string, string>>;
}

export async function createObjectStore(settings: Settings, context: ObjectStoreContext = {}): Promise<ObjectStore> {
  switch (settings.store.kind) {
    case 'fs':
      return createFsStore(fsStoreRoot(settings), { logger: context.logger });
    case 's3': {
      // The S3 client is loaded only when it is configured: the embedded store does not carry it.
      const { createS3Store } = await import('./s3-store.js');
      return createS3Store({ ...settings.store.s3, logger: context.logger, sessionTokenEnv: context.envNames?.['store.s3.sessionToken'] });
    }
    default:
      // Settings refuse any other kind; hand-made ones reach this from the library.
      throw invalidArgument('createObjectStore', 'settings.store.kind', '"fs" or "s3"', (settings.store as { kind: unknown }).kind);
  }
}
