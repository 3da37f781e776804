/** The mean of the finite values within `half` places either side of each value (NaN where the value is missing). */
export function centredMean(values: readonly number[], half: number): number[] {
  return values.map((value, i) => {
    if (!Number.isFinite(value)) return Number.NaN;
    let sum = 0;
    let count = 0;
    for (let k = Math.max(0, i - half); k <= Math.min(values.length - 1, i + half); k++) {
      if (Number.isFinite(values[k])) {
        sum += values[k];
        count += 1;
      }
    }
    return sum / count;
  });
}
