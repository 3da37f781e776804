/** The lines of one UTC day taken out of a buffer, as one JSONL body. */
export interface DayBody {
  day: string;
  body: Uint8Array;
  count: number;
}

const INITIAL_BYTES = 64 * 1024;

/**
 * JSONL lines held as bytes in one growable Buffer rather than as one string per line. A buffered line lives
 * for a flush interval, long enough that V8 would promote a string to the old generation, where dead lines pile
 * up until a full collection: under sustained load that garbage, not live data, made most of a server's
 * memory. Here a line's string dies young (it is encoded at once) and the bytes are reused flush after flush.
 * Each line keeps its day (YYYYMMDD as a number) and the end of its bytes, in plain number arrays.
 */
export class LogLineBuffer {
  private bytes = Buffer.allocUnsafe(INITIAL_BYTES);
  private used = 0;
  private readonly ends: number[] = [];
  private readonly days: number[] = [];
  /** Index of the oldest line kept (lines before it were dropped). */
  private first = 0;

  get count(): number {
    return this.ends.length - this.first;
  }

  /** Appends `line` (without its newline) for `day` (YYYYMMDD). */
  push(day: string, line: string): void {
    const length = Buffer.byteLength(line) + 1;
    this.reserve(length);
    this.used += this.bytes.write(line, this.used);
    this.bytes[this.used++] = 0x0a;
    this.ends.push(this.used);
    this.days.push(Number(day));
  }

  /** Forgets the oldest line. */
  dropOldest(): void {
    if (this.count === 0) return;
    this.first++;
    // Dropped lines' bytes are reclaimed once they outweigh the kept ones (a store that keeps failing).
    if (this.first >= 1024 && this.first * 2 >= this.ends.length) this.compact();
  }

  /**
   * The kept lines grouped by day, as views of this buffer (valid until the next `clear` or `push`), in the
   * order each day first appears.
   */
  bodies(): DayBody[] {
    const byDay = new Map<number, { parts: Uint8Array[]; count: number }>();
    let start = this.first === 0 ? 0 : this.ends[this.first - 1];
    let i = this.first;
    while (i < this.ends.length) {
      const day = this.days[i];
      let j = i;
      while (j < this.ends.length && this.days[j] === day) j++;
      const end = this.ends[j - 1];
      const group = byDay.get(day) ?? { parts: [], count: 0 };
      group.parts.push(this.bytes.subarray(start, end));
      group.count += j - i;
      byDay.set(day, group);
      start = end;
      i = j;
    }
    return [...byDay].map(([day, { parts, count }]) => ({ day: String(day).padStart(8, '0'), body: parts.length === 1 ? parts[0] : Buffer.concat(parts), count }));
  }

  clear(): void {
    this.used = 0;
    this.ends.length = 0;
    this.days.length = 0;
    this.first = 0;
  }

  private reserve(length: number): void {
    if (this.used + length <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.used + length) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.bytes.copy(grown, 0, 0, this.used);
    this.bytes = grown;
  }

  private compact(): void {
    const from = this.ends[this.first - 1];
    this.bytes.copy(this.bytes, 0, from, this.used);
    this.used -= from;
    this.ends.splice(0, this.first);
    this.days.splice(0, this.first);
    for (let i = 0; i < this.ends.length; i++) this.ends[i] -= from;
    this.first = 0;
  }
}
