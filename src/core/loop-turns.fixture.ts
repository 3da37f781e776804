/** Counts the turns of the event loop from now until `stop()`: `turns()` is the count so far. */
export function countTurns(): { turns(): number; stop(): void } {
  let turns = 0;
  let counting = true;
  const count = (): void => {
    if (!counting) return;
    turns++;
    setImmediate(count);
  };
  setImmediate(count);
  return { turns: () => turns, stop: () => (counting = false) };
}
