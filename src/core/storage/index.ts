import path from 'node:path';
import type { Settings } from '../config/settings.js';
import { FltsError } from '../errors.js';
import { createFsStore } from './fs-store.js';
import { createS3Store } from './s3-store.js';
import type { ObjectStore } from './object-store.js';

export type { ObjectStore, ObjectInfo, ObjectBody } from './object-store.js';
export { createFsStore } from './fs-store.js';
export { createS3Store, parseS3Endpoint, type S3StoreOptions } from './s3-store.js';
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
    case 's3':
      return createS3Store(settings.store.s3);
    default:
      throw new FltsError('FLTS_NOT_IMPLEMENTED', `Object store kind "${settings.store.kind}" is not available in this build.`);
  }
}
