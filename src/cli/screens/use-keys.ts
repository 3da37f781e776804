import { useStdin } from 'ink';
import { useEffect, useRef } from 'react';

export type KeyName = 'up' | 'down' | 'pageup' | 'pagedown' | 'home' | 'end' | 'return' | 'escape' | 'backspace' | 'ctrl-c' | 'char' | 'other';

/** One key of what the terminal sent: `char` carries the character typed, `other` a key the screens do not use. */
export interface Keypress {
  name: KeyName;
  /** The bytes of this key as they arrived (for `char`, the character). */
  sequence: string;
}

/** A CSI or SS3 sequence (arrows, page and home keys), an escape with the byte after it, or one character. */
const TOKEN = /\u001B\[[0-9;?]*[ -/]*[@-~]|\u001BO.|\u001B[\s\S]?|[\s\S]/gu;
const SEQUENCES: Record<string, KeyName> = {
  '\u001B[A': 'up',
  '\u001BOA': 'up',
  '\u001B[B': 'down',
  '\u001BOB': 'down',
  '\u001B[5~': 'pageup',
  '\u001B[6~': 'pagedown',
  '\u001B[H': 'home',
  '\u001BOH': 'home',
  '\u001B[1~': 'home',
  '\u001B[7~': 'home',
  '\u001B[F': 'end',
  '\u001BOF': 'end',
  '\u001B[4~': 'end',
  '\u001B[8~': 'end',
  '\u001B[3~': 'backspace',
  '\u001B': 'escape',
  '\u001B\u001B': 'escape',
  '\r': 'return',
  '\n': 'return',
  '\u007F': 'backspace',
  '\b': 'backspace',
  '\u0003': 'ctrl-c',
};

/**
 * The keys in one chunk of terminal input. A chunk holds several keys whenever they come faster than the screen reads
 * them (a held key, typing ahead, a slow link): read as one key, "jjj" moved nowhere and two down arrows moved one row.
 */
export function splitKeys(chunk: string): Keypress[] {
  return (chunk.match(TOKEN) ?? []).map((sequence) => {
    const name = SEQUENCES[sequence];
    if (name) return { name, sequence };
    // Another escape sequence (a function key, alt with a letter) or control character: no key the screens use.
    return { name: sequence.startsWith('\u001B') || /^[\u0000-\u001F]$/u.test(sequence) ? 'other' : 'char', sequence };
  });
}

/**
 * Calls `onChunk` with the keys of each chunk the terminal sends, in raw mode (so Ctrl-C arrives as a key). ink's own
 * useInput reads a chunk as one key; a screen that moves a cursor needs each of them.
 */
export function useKeys(onChunk: (keys: Keypress[], chunk: string) => void): void {
  const { setRawMode, internal_eventEmitter: events } = useStdin();
  // The handler of the latest render, without subscribing again on each one (a chunk between the two would be lost).
  const handler = useRef(onChunk);
  handler.current = onChunk;
  useEffect(() => {
    setRawMode(true);
    const listener = (data: Buffer | string): void => {
      const chunk = String(data);
      handler.current(splitKeys(chunk), chunk);
    };
    events.on('input', listener);
    return () => {
      events.removeListener('input', listener);
      setRawMode(false);
    };
  }, [setRawMode, events]);
}
