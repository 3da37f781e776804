import path from 'node:path';
import type { Settings } from '../config/settings.js';
import { FltsError } from '../errors.js';
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

export async function createObjectStore(settings: Settings): Promise<ObjectStore> {
  switch (settings.store.kind) {
    case 'fs':
      return createFsStore(fsStoreRoot(settings));
    case 's3': {
      // The S3 client is loaded only when it is configured: the embedded store does not carry it.
      const { createS3Store } = await import('./s3-store.js');
      return createS3Store(settings.store.s3);
    }
    default:
      throw new FltsError('FLTS_NOT_IMPLEMENTED', `Object store kind "${settings.store.kind}" is not available in this build.`);
  }
}
