import { createHash } from 'node:crypto';

/** A name as a file name may hold it: what is not a letter, digit, `_`, `.` or `-` as `_`, and never `.` or `..`. */
function fileSafe(name: string): string {
  const safe = name.replace(/[^\w.-]/g, '_');
  return /^\.+$/.test(safe) ? safe.replace(/\./g, '_') : safe;
}

/**
 * The part of a file name that stands for each target, one a target (`a b` as `a_b`). Names that come out as one
 * file name (`a b` and `a_b`, or `a:b` and `a b`; case aside, for the file systems of macOS and Windows) were one
 * file, and the plot written second replaced the first without a word. Of those, a name that needed no change keeps
 * it, and each changed one takes the first 8 hex digits of its name's SHA-256 (`a b` beside `a_b` as `a_b-c8687a08`): each target's file
 * is named by the targets alone, not by their order, and a target whose name is its file name is always found there.
 */
export function targetFileNames(targets: readonly string[]): string[] {
  const safe = targets.map(fileSafe);
  const sharing = new Map<string, number>();
  for (const name of safe) sharing.set(name.toLowerCase(), (sharing.get(name.toLowerCase()) ?? 0) + 1);
  return targets.map((target, i) => {
    if (safe[i] === target || sharing.get(safe[i].toLowerCase()) === 1) return safe[i];
    return `${safe[i]}-${createHash('sha256').update(target).digest('hex').slice(0, 8)}`;
  });
}
