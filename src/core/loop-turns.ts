/**
 * Long work shared out over event-loop turns, so no single turn holds the loop for long: a server keeps
 * answering health checks and short requests while long forecasts are computed and answered. Work checks
 * `turnSpent()` between small pieces and, when it says so, waits for `nextTurn()`:
 *
 *   if (turnSpent()) await nextTurn();
 *
 * Checked synchronously, without an await when the turn has time left, so each piece is counted before the
 * next caller checks: requests resumed together (one batch's forward pass) then spread over turns instead of
 * all passing their checks before any of them worked.
 */

/** Work a turn may do before what waits for the loop (I/O, timers) gets its turn. */
export const TURN_SLICE_MS = 10;

let sliceStart = 0;
let sliceOpen = false;
let tickScheduled = false;
const waiting: Array<() => void> = [];

function scheduleTick(): void {
  if (tickScheduled) return;
  tickScheduled = true;
  setImmediate(tick);
}

function openSlice(): void {
  sliceOpen = true;
  sliceStart = performance.now();
  scheduleTick();
}

/**
 * In a check phase: the slice ends and, with work waiting, a new one starts for the waiters. An immediate set
 * from a check phase runs in the next turn, after its I/O, so a tick is at most one turn away while work waits.
 */
function tick(): void {
  tickScheduled = false;
  sliceOpen = false;
  if (waiting.length === 0) return;
  openSlice();
  releaseNext();
}

/**
 * Resumes the longest waiter, then, as a microtask queued behind its continuation (so after the piece it runs
 * up to its next await), the next one while the slice lasts.
 */
function releaseNext(): void {
  const next = waiting.shift();
  if (!next) return;
  next();
  queueMicrotask(() => {
    if (waiting.length > 0 && performance.now() - sliceStart < TURN_SLICE_MS) releaseNext();
  });
}

/** Whether this turn's work used its slice; the first call of a turn starts the slice. */
export function turnSpent(): boolean {
  if (!sliceOpen) {
    openSlice();
    return false;
  }
  return performance.now() - sliceStart >= TURN_SLICE_MS;
}

/**
 * Resolves in a later turn, after the I/O waiting meanwhile was handled; waiters resume in arrival order. Await
 * it directly (not through another async function), so the piece after it runs before the next waiter resumes.
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    waiting.push(resolve);
    scheduleTick();
  });
}

/**
 * Work over `total` rows in pieces of `step`: `work(to)` does the rows before `to` that the calls before it left,
 * and the turn is looked at between pieces, so a long table is worked through over as many turns as it takes.
 * An aborted `signal` ends the work between two pieces (a process stopping does not wait for the rest).
 */
export async function rowsInTurns(total: number, step: number, work: (to: number) => void, signal?: AbortSignal): Promise<void> {
  for (let to = Math.min(step, total); ; to = Math.min(to + step, total)) {
    work(to);
    if (to >= total || signal?.aborted) return;
    if (turnSpent()) await nextTurn();
  }
}
