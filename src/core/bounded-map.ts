/**
 * `work` over every item with at most `width` calls in flight, results in the order of `items`: one call per run
 * record or history record of a registry of thousands, side by side, without opening thousands of files or
 * requests at once. The first failure rejects (the calls in flight finish, no new one starts).
 */
export async function mapBounded<T, R>(items: readonly T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const at = next++;
      try {
        results[at] = await work(items[at]);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(width, items.length)) }, lane));
  return results;
}
