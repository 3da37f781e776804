import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * The compiled form of a worker script given beside its caller (`new URL('./x.js', import.meta.url)`).
 * When the caller runs from TypeScript sources (tests), the script is taken from the build instead.
 * Undefined when neither exists.
 */
export function compiledWorkerScript(beside: URL): URL | undefined {
  if (existsSync(fileURLToPath(beside))) return beside;
  const built = fileURLToPath(beside).replace(/([\\/])src([\\/]core[\\/])/, '$1dist$2');
  return existsSync(built) ? pathToFileURL(built) : undefined;
}
