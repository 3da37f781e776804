import { describe, expect, it } from 'vitest';
import { unknownCommandError } from './unknown-command.js';

const config = { commands: [{ id: 'train', hidden: false }, { id: 'config:show', hidden: false }] } as unknown as Parameters<typeof unknownCommandError>[1];

describe('cli > unknown-command', () => {
  it('names the flag a misspelt --version or --help most likely meant', () => {
    // Before: "No command given before --verison: flts <command> [flags]." with no word of --version.
    const error = unknownCommandError('--verison', config);
    expect(error).toMatchObject({ code: 'FLTS_USAGE_UNKNOWN_COMMAND', message: 'No command given before --verison: flts <command> [flags]. Did you mean --version?', details: { suggestion: '--version' } });
    expect(unknownCommandError('--hlep', config).message).toContain('Did you mean --help?');
    // A flag like no global one says what it always said.
    const other = unknownCommandError('--epochs', config);
    expect(other.message).toBe('No command given before --epochs: flts <command> [flags].');
    expect(other.details).not.toHaveProperty('suggestion');
    expect(unknownCommandError('trian', config).message).toBe('Unknown command "trian"; did you mean "train"?');
  });
});
