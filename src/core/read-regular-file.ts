import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';

/**
 * A regular file's text; a named pipe, device or directory is refused (a plain Error, for the caller to code) without
 * waiting on it: opened non-blocking, so a pipe with no writer does not hold up the open, and checked before any
 * read, so /dev/zero is not read until memory runs out.
 */
export function readRegularFile(file: string): string {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile()) throw new Error('not a regular file (a directory, device, pipe or socket)');
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}
