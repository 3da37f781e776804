/** `1 epoch`, `2 epochs`: a one-epoch run or a one-batch epoch is common enough (EPOCHS=1, a small dataset) to read right. */
export function counted(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
