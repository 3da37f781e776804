import { FltsError } from '../core/errors.js';

export function notImplemented(command: string): never {
  throw new FltsError('FLTS_NOT_IMPLEMENTED', `\`flts ${command}\` is not implemented yet.`);
}
