import path from 'node:path';
import { sha256Hex } from '../config/config-hash.js';
import type { InputFingerprint } from './processed-layout.js';

export function fingerprintBytes(filePath: string, bytes: Uint8Array): InputFingerprint {
  return { file: path.basename(filePath), sha256: sha256Hex(bytes), bytes: bytes.byteLength };
}

export function sameFingerprint(a: InputFingerprint | undefined, b: InputFingerprint): boolean {
  return a !== undefined && a.sha256 === b.sha256 && a.bytes === b.bytes;
}
