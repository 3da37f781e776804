import type { Readable } from 'node:stream';
import type { FltsError } from '../errors.js';

export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
}

export type ObjectBody = Uint8Array | string;

/** What one `deleteMany` did: every key given is in one of the two lists. */
export interface DeleteManyResult {
  /** The keys now gone, in the order given (missing ones included: deleting them is not an error). */
  deleted: string[];
  /** The keys the store refused to delete, each with why, under the store's codes (e.g. FLTS_STORE_ACCESS_DENIED). */
  failed: Array<{ key: string; error: FltsError }>;
}

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
  /**
   * Ends the store's open connections: the requests still running fail at once (FLTS_STORE_UNAVAILABLE) instead of
   * holding the process until the store's timeouts. Called by a process that stops; the store is not used after it.
   */
  close?(): void;
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
  /**
   * Every object whose key starts with `prefix`, sorted by key; with `limit`, only the first `limit` of them, and
   * the listing stops there (on S3 one page of at most 1000 keys after another), so a bounded job need not list a
   * folder of millions to take a few.
   */
  list(bucket: string, prefix?: string, options?: { limit?: number }): Promise<ObjectInfo[]>;
  /**
   * The folders one level below `prefix` (empty, or ending with "/"), each as a full prefix ending with "/", sorted:
   * S3's common prefixes for the delimiter "/", the subdirectories on the filesystem. Lists names, not their objects,
   * so walking a bucket of millions of objects by folder costs one call per folder.
   */
  listFolders(bucket: string, prefix?: string): Promise<string[]>;
  /** Deleting a missing object is not an error, so several processes may delete the same keys. */
  delete(bucket: string, key: string): Promise<void>;
  /**
   * Deletes many keys with few requests (S3 DeleteObjects, 1000 keys a request; the filesystem deletes a few files at
   * a time). Every key is checked before anything is deleted. A key the store refuses is reported in `failed`; a
   * store that does not answer or refuses the credentials throws, like `delete`, with some of the keys maybe gone.
   */
  deleteMany(bucket: string, keys: readonly string[]): Promise<DeleteManyResult>;
  /**
   * Removes the folder `prefix` (ending with "/") when nothing is left in it. Only stores with real directories
   * offer it (the embedded one): on S3 a folder is gone with its last object.
   */
  removeEmptyFolder?(bucket: string, prefix: string): Promise<void>;
  /**
   * Appends to an object and resolves once the bytes are on disk (fsync'd, and the new file's directory entry
   * with it). Only stores that can append offer it (the embedded one); elsewhere each write is a new object.
   */
  appendDurable?(bucket: string, key: string, body: string | Buffer): Promise<void>;
  /**
   * Creates the object only when none exists at the key: S3 `If-None-Match: *`; the filesystem links a complete
   * temporary file into place, which fails when the target exists (O_EXCL semantics). Returns the new version, or
   * undefined when an object was already there. What makes a work lease exclusive.
   */
  putIfAbsent(bucket: string, key: string, body: ObjectBody): Promise<string | undefined>;
  /**
   * Replaces the object only while its version is still `version`: S3 `If-Match: <etag>`; the filesystem compares
   * and renames under an exclusive lock file. Returns the new version, or undefined when the object changed or is gone.
   */
  putIfVersion(bucket: string, key: string, body: ObjectBody, version: string): Promise<string | undefined>;
  /** The object with its version (the ETag: MD5 of the bytes), or undefined when missing. */
  getVersioned(bucket: string, key: string): Promise<{ body: Buffer; version: string } | undefined>;
}
