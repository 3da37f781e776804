import { isFltsError } from '../errors.js';

/** The refusal `run` throws (or rejects with), as its code, message and details; fails when it refuses nothing or throws uncoded. */
export async function codedRefusal(run: () => unknown): Promise<{ code: string; message: string; details?: Record<string, unknown> }> {
  try {
    await run();
  } catch (error) {
    if (isFltsError(error)) return { code: error.code, message: error.message, details: error.details };
    throw error;
  }
  throw new Error('no refusal');
}

/**
 * A character no refusal may quote as itself: U+202E turns round what follows it, ESC and U+009B start a terminal
 * sequence, U+2028 breaks the line. Spelled here apart from clip-text's MISLEADING_CHAR_RANGES, which it checks.
 */
export const SHOWN_AS_ITSELF_NEVER = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/u;
