import { describe, expect, it } from 'vitest';
import { splitKeys } from './use-keys.js';

const names = (chunk: string): string[] => splitKeys(chunk).map((key) => (key.name === 'char' ? key.sequence : key.name));

describe('cli > screens > use-keys', () => {
  it('splits a chunk into its keys: characters, arrows in both encodings, page and home keys, Ctrl-C, return', () => {
    expect(names('jjk')).toEqual(['j', 'j', 'k']);
    expect(names('\u001B[B\u001BOB\u001B[A')).toEqual(['down', 'down', 'up']);
    expect(names('\u001B[5~\u001B[6~\u001B[H\u001B[F\u001B[1~\u001B[4~')).toEqual(['pageup', 'pagedown', 'home', 'end', 'home', 'end']);
    expect(names('j\u0003')).toEqual(['j', 'ctrl-c']);
    expect(names('y\r')).toEqual(['y', 'return']);
    expect(names('é€😀')).toEqual(['é', '€', '😀']);
  });

  it('reads escape alone as escape, and alt with a letter or a function key as no key a screen uses (never as leaving)', () => {
    expect(names('\u001B')).toEqual(['escape']);
    expect(names('\u001Bj')).toEqual(['other']);
    expect(names('\u001B[15~\t')).toEqual(['other', 'other']);
  });
});
