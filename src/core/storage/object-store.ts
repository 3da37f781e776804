import type { Readable } from 'node:stream';

export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
}

export type ObjectBody = Uint8Array | string;

/**
 * Buckets and keys, S3 semantics: no directories, no rename, whole-object writes. Every `put` replaces
 * the object atomically (readers see the old or the new bytes, never a mix), which is what promotion
 * pointers rely on.
 */
export interface ObjectStore {
  readonly kind: 'fs' | 's3';
  /** Where the data lives, for humans: a directory or an endpoint. */
  readonly location: string;
  ensureBucket(bucket: string): Promise<void>;
  put(bucket: string, key: string, body: ObjectBody, options?: { contentType?: string }): Promise<void>;
  /** Streams a local file into the store without loading it into memory. */
  putFile(bucket: string, key: string, filePath: string, options?: { contentType?: string }): Promise<void>;
  /** Throws FLTS_STORE_NOT_FOUND when the object is missing. */
  get(bucket: string, key: string): Promise<Buffer>;
  getStream(bucket: string, key: string): Promise<Readable>;
  /** Copies an object to a local file (streaming). */
  getFile(bucket: string, key: string, filePath: string): Promise<void>;
  stat(bucket: string, key: string): Promise<ObjectInfo | undefined>;
  exists(bucket: string, key: string): Promise<boolean>;
  /** Every object whose key starts with `prefix`, sorted by key. */
  list(bucket: string, prefix?: string): Promise<ObjectInfo[]>;
  delete(bucket: string, key: string): Promise<void>;
  /**
   * Appends to an object and resolves once the bytes are on disk (fsync'd, and the new file's directory entry
   * with it). Only stores that can append offer it (the embedded one); elsewhere each write is a new object.
   */
  appendDurable?(bucket: string, key: string, body: string | Buffer): Promise<void>;
}
