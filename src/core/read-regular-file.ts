import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';

export interface ReadRegularFileOptions {
  /** A symlink at the path is refused (ELOOP) rather than followed: for a file in a directory others may write. */
  noFollow?: boolean;
  /** A larger file is refused before it is read. */
  maxBytes?: number;
}

/**
 * A regular file's text; a named pipe, device or directory is refused (a plain Error, for the caller to code) without
 * waiting on it: opened non-blocking, so a pipe with no writer does not hold up the open, and checked before any
 * read, so /dev/zero is not read until memory runs out. Errors of the open itself (ENOENT, EACCES, ELOOP) are thrown
 * as Node gives them.
 */
export function readRegularFile(file: string, options: ReadRegularFileOptions = {}): string {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | (options.noFollow ? constants.O_NOFOLLOW : 0));
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new Error('not a regular file (a directory, device, pipe or socket)');
    if (options.maxBytes !== undefined && stat.size > options.maxBytes) throw new Error(`larger than ${options.maxBytes} bytes`);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}
