import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
/** An event name: snake_case words, so alerting matches one token (the README's "Log lines" lists the old names). */
const EVENT_NAME = /^[a-z][a-z0-9]*(_[a-z0-9]+)+$/;
/** One-word names the reference preprocessor logs (reference-system.md 2.6), kept so that its alerts match flts's lines. */
const REFERENCE_NAMES = new Set(['success', 'failure']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return /\.ts$/.test(name) && !/\.test\.ts$/.test(name) ? [full] : [];
  });
}

/** The receiver ends in a logger (`logger`, `deps.logger`, `options.logger?`), so `console.warn` and others are left alone. */
function isLoggerCall(node: ts.CallExpression): boolean {
  const callee = node.expression;
  if (!ts.isPropertyAccessExpression(callee) || !LEVELS.has(callee.name.text)) return false;
  const receiver = callee.expression;
  const name = ts.isIdentifier(receiver) ? receiver.text : ts.isPropertyAccessExpression(receiver) ? receiver.name.text : '';
  return /logger$/i.test(name);
}

/** Every logger call's message in src: a literal's text, or the source of a computed message. */
function loggerMessages(): Array<{ at: string; message: string; literal: boolean }> {
  const found: Array<{ at: string; message: string; literal: boolean }> = [];
  for (const file of sourceFiles(path.join(ROOT, 'src'))) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && isLoggerCall(node) && node.arguments.length > 0) {
        const last = node.arguments[node.arguments.length - 1];
        const at = `${path.relative(ROOT, file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
        if (ts.isStringLiteral(last) || ts.isNoSubstitutionTemplateLiteral(last)) found.push({ at, message: last.text, literal: true });
        else found.push({ at, message: last.getText(source), literal: false });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

/**
 * Computed messages that are no event name of flts's own: kafkajs's lines passed through (their text is kafkajs's),
 * and a prefix built from a snake_case outcome.
 */
const COMPUTED = new Set([
  "src/core/daemon/trainer-reconciler.ts: outcome.result === 'trained' ? 'daemon_trained' : 'daemon_train_skipped'",
  'src/core/storage/s3-store.ts: ...droppedTokenWarning(dropped, location)', // 's3_session_token_ignored'
  'src/core/preprocess/run-preprocess.ts: warning.code', // a data warning's code: irregular_time_steps, ...
  'src/core/batch/run-batch-inference.ts: warning.code',
  'src/core/bus/kafka-bus.ts: message',
  'src/core/bus/kafka-log.ts: message',
  "src/core/daemon/promoter-reconciler.ts: `daemon_promotion_${outcome.result.replace(/-/g, '_')}`",
]);

describe('log lines', () => {
  it('finds the logger calls it scans', () => {
    const messages = loggerMessages();
    expect(messages.length).toBeGreaterThan(150);
    expect(messages.map((entry) => entry.message)).toContain('serve_waiting_for_promotion');
  });

  it('every message a logger call in src writes is a snake_case event name', () => {
    const offending = loggerMessages()
      .filter((entry) => (entry.literal ? !EVENT_NAME.test(entry.message) && !REFERENCE_NAMES.has(entry.message) : !COMPUTED.has(`${entry.at.replace(/:\d+$/, '')}: ${entry.message}`)))
      .map((entry) => `${entry.at}: ${entry.message}`);
    expect(offending).toEqual([]);
  });
});
