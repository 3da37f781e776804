/** Contiguous ranges [from, to) splitting `size` into `parts`; sizes differ by at most one. */
export function splitRange(size: number, parts: number, part: number, offset = 0): [number, number] {
  return [offset + Math.floor((size * part) / parts), offset + Math.floor((size * (part + 1)) / parts)];
}
