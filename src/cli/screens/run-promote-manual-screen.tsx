import { render } from 'ink';
import type { ManualPromotionResult } from '../../core/runbooks/index.js';
import { PromoteManualScreen, type PromoteManualScreenProps, type ScreenOutcome } from './promote-manual-screen.js';

/**
 * Runs the interactive screen until the operator promotes or leaves. Ctrl-C arrives as a key in raw mode and is
 * handled by the screen; a SIGINT/SIGTERM from outside stops it the same way: at once, or, while the promotion is
 * being written, once it is (so the history and pointers are never left half-done).
 */
export async function runPromoteManualScreen(props: Omit<PromoteManualScreenProps, 'onExit'>): Promise<ScreenOutcome> {
  let outcome: ScreenOutcome = { kind: 'cancelled' };
  let writing = false;
  let stoppedBy: NodeJS.Signals | undefined;
  const onPromote = async (runId: string, reason: string, current: string | null): Promise<ManualPromotionResult> => {
    writing = true;
    try {
      return await props.onPromote(runId, reason, current);
    } finally {
      writing = false;
    }
  };
  const app = render(<PromoteManualScreen {...props} onPromote={onPromote} onExit={(result) => (outcome = result)} />, { exitOnCtrlC: false });
  const onSignal = (signal: NodeJS.Signals): void => {
    stoppedBy ??= signal;
    if (!writing) app.unmount();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await app.waitUntilExit();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return stoppedBy === undefined ? outcome : stoppedOutcome(outcome, stoppedBy);
}

/** What a signal from outside makes of the screen's outcome: a promotion it waited for is written, a failure stands. */
function stoppedOutcome(outcome: ScreenOutcome, signal: NodeJS.Signals): ScreenOutcome {
  if (outcome.kind === 'failed' || outcome.kind === 'stopped') return outcome;
  return { kind: 'stopped', signal, writes: outcome.kind === 'promoted' && outcome.result.changed ? 'writing' : 'none' };
}
