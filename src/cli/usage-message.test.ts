import { describe, expect, it } from 'vitest';
import { usageMessage } from './usage-message.js';

describe('usageMessage', () => {
  it('keeps the reasons of a failed flag validation and names a missing flag as typed', () => {
    expect(usageMessage('The following error occurred:\n  \u001b[2mMissing required flag data\u001b[22m\nSee more help with --help')).toBe('Missing required flag --data');
    expect(usageMessage('The following errors occurred:\n  Missing required flag data\n  --run=x cannot also be provided when using --best\nSee more help with --help')).toBe(
      'Missing required flag --data; --run=x cannot also be provided when using --best',
    );
  });

  it('drops only the footer of other parse errors', () => {
    expect(usageMessage('Nonexistent flag: --role\nSee more help with --help')).toBe('Nonexistent flag: --role');
    expect(usageMessage('Expected --engine=gpu to be one of: onnx, wasm\nSee more help with --help')).toBe('Expected --engine=gpu to be one of: onnx, wasm');
  });

  it('names a boolean flag in a conflict as typed, without the =true oclif adds', () => {
    expect(usageMessage('--rollback=true cannot also be provided when using --pin\nSee more help with --help')).toBe('--rollback cannot also be provided when using --pin');
  });

  it('names the flag an unknown one most likely meant, among the command\'s flags', () => {
    expect(usageMessage('Nonexistent flag: --modle\nSee more help with --help', ['model', 'epochs', 'json'])).toBe('Nonexistent flag: --modle; did you mean --model?');
    expect(usageMessage('Nonexistent flag: --frobnicate\nSee more help with --help', ['model', 'epochs', 'json'])).toBe('Nonexistent flag: --frobnicate');
    // A flag cut short at a word: many edits away, and before named with no hint (flts serve --grpc 8001).
    expect(usageMessage('Nonexistent flag: --grpc\nSee more help with --help', ['port', 'grpc-port', 'run'])).toBe('Nonexistent flag: --grpc; did you mean --grpc-port?');
    expect(usageMessage('Nonexistent flag: --to\nSee more help with --help', ['to-earliest', 'to-latest'])).toBe('Nonexistent flag: --to');
  });

  it('names a word after a switch as the value the switch does not take', () => {
    const typed = { argv: ['--plot', 'plot.svg', '--json'], switches: ['plot', 'live', 'json'] };
    expect(usageMessage('Unexpected argument: plot.svg\nSee more help with --help', ['plot'], typed)).toBe('Unexpected argument: plot.svg; --plot is a switch and takes no value');
    expect(usageMessage('Unexpected argument: stray\nSee more help with --help', ['plot'], { argv: ['stray'], switches: ['plot'] })).toBe('Unexpected argument: stray');
  });
});

