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

/**
 * The name a receiver ends in: `logger`, `deps.logger`, `(deps.logger ?? silentLogger)`, `logger.child({...})`, so
 * `console.warn` and others are left alone.
 */
function receiverName(receiver: ts.Expression): string {
  if (ts.isIdentifier(receiver)) return receiver.text;
  if (ts.isPropertyAccessExpression(receiver)) return receiver.name.text;
  if (ts.isParenthesizedExpression(receiver) || ts.isNonNullExpression(receiver)) return receiverName(receiver.expression);
  if (ts.isBinaryExpression(receiver)) return receiverName(receiver.left);
  if (ts.isCallExpression(receiver) && ts.isPropertyAccessExpression(receiver.expression) && receiver.expression.name.text === 'child') return receiverName(receiver.expression.expression);
  return '';
}

/** A logger's level bound to a name in a block around `callee`: `const log = (retriable ? logger.warn : logger.error).bind(logger)`. */
function isBoundLogger(callee: ts.Identifier): boolean {
  for (let scope: ts.Node | undefined = callee.parent; scope; scope = scope.parent) {
    if (!ts.isBlock(scope) && !ts.isSourceFile(scope)) continue;
    for (const statement of scope.statements) {
      if (!ts.isVariableStatement(statement)) continue;
      for (const { name, initializer } of statement.declarationList.declarations) {
        if (!ts.isIdentifier(name) || name.text !== callee.text || !initializer) continue;
        const bind = ts.isCallExpression(initializer) && ts.isPropertyAccessExpression(initializer.expression) && initializer.expression.name.text === 'bind';
        return bind && initializer.arguments.length > 0 && /logger$/i.test(receiverName(initializer.arguments[0]));
      }
    }
  }
  return false;
}

/** A call of a logger's level (`logger.warn(...)`, `logger[retriable ? 'info' : 'warn'](...)`, a bound `log(...)`), or of `child` when `bindings`. */
function isLoggerCall(node: ts.CallExpression, bindings = false): boolean {
  const callee = node.expression;
  if (ts.isIdentifier(callee)) return isBoundLogger(callee);
  const level = ts.isPropertyAccessExpression(callee) ? callee.name.text : ts.isElementAccessExpression(callee) ? 'info' : '';
  if (!LEVELS.has(level) && !(bindings && level === 'child')) return false;
  return /logger$/i.test(receiverName((callee as ts.PropertyAccessExpression | ts.ElementAccessExpression).expression));
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
  "src/core/bus/consumer-recovery.ts: restart ? 'bus_consumer_crashed' : 'bus_consumer_crashed_recovering'",
]);

/** A field name with a capital in it: `runId` where the line's other fields are `config_hash`, `test_rmse`. */
const CAMEL_CASE_FIELD = /[A-Z]/;

/**
 * What a name a logger call spreads or passes stands for, found in a block around `from`: the object literal of a
 * `const at = { ... }`, or the object or array literals a function of the file returns (`...droppedTokenWarning(dropped)`).
 */
function declaredFields(name: string, from: ts.Node): ts.Node[] {
  for (let scope: ts.Node | undefined = from.parent; scope; scope = scope.parent) {
    if (!ts.isBlock(scope) && !ts.isSourceFile(scope)) continue;
    for (const statement of scope.statements) {
      if (ts.isFunctionDeclaration(statement) && statement.name?.text === name && statement.body) {
        const returned: ts.Node[] = [];
        const visit = (node: ts.Node): void => {
          if (ts.isReturnStatement(node) && node.expression && (ts.isObjectLiteralExpression(node.expression) || ts.isArrayLiteralExpression(node.expression))) returned.push(node.expression);
          else if (!ts.isFunctionLike(node)) ts.forEachChild(node, visit);
        };
        ts.forEachChild(statement.body, visit);
        return returned;
      }
      if (!ts.isVariableStatement(statement)) continue;
      for (const declaration of statement.declarationList.declarations) {
        if (ts.isIdentifier(declaration.name) && declaration.name.text === name && declaration.initializer && ts.isObjectLiteralExpression(declaration.initializer)) return [declaration.initializer];
      }
    }
  }
  return [];
}

/** Whether what `node` stands for is written whole into the line: the logged object, a spread into it or a field's value. */
function isLogged(node: ts.Node): boolean {
  const parent = node.parent;
  if (ts.isSpreadAssignment(parent) || ts.isSpreadElement(parent) || ts.isShorthandPropertyAssignment(parent) || ts.isArrayLiteralExpression(parent)) return true;
  if (ts.isPropertyAssignment(parent)) return parent.initializer === node;
  return ts.isCallExpression(parent) && parent.arguments[0] === node && isLoggerCall(parent, true);
}

/**
 * The field names of every logger call and child binding in src: the keys of the object it logs, of the objects
 * inside it (`runs: [{ run_id }]`), and of a `const` or a function of the file it spreads or passes (`{ ...at, code }`).
 * Fields that come from elsewhere (a parameter, another module's object, kafkajs' own) are not seen here.
 */
function loggerFields(): Array<{ at: string; field: string }> {
  const found: Array<{ at: string; field: string }> = [];
  for (const file of sourceFiles(path.join(ROOT, 'src'))) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const fieldsOf = (node: ts.Node, at: string, seen: Set<ts.Node>): void => {
      if (seen.has(node)) return;
      seen.add(node);
      const named = ts.isIdentifier(node) ? node : ts.isCallExpression(node) && ts.isIdentifier(node.expression) ? node.expression : undefined;
      if (named && isLogged(node)) for (const declared of declaredFields(named.text, node)) fieldsOf(declared, at, seen);
      if (ts.isObjectLiteralExpression(node)) {
        for (const property of node.properties) {
          const name = property.name && (ts.isIdentifier(property.name) || ts.isStringLiteral(property.name)) ? property.name.text : undefined;
          if (name !== undefined) found.push({ at, field: name });
        }
      }
      ts.forEachChild(node, (child) => fieldsOf(child, at, seen));
    };
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && isLoggerCall(node, true) && node.arguments.length > 0) {
        const at = `${path.relative(ROOT, file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
        const logged = node.arguments[0];
        if (!ts.isStringLiteral(logged) && !ts.isNoSubstitutionTemplateLiteral(logged)) fieldsOf(logged, at, new Set());
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

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

  it('finds the field names it scans, spread and nested ones too', () => {
    const fields = loggerFields();
    expect(fields.length).toBeGreaterThan(500);
    const named = new Set(fields.map((entry) => `${entry.at.replace(/:\d+$/, '')} ${entry.field}`));
    // What a function of the file returns (waitingFields, droppedTokenWarning), and a const spread into the call.
    for (const field of ['src/core/serve/model-holder.ts learns_by', 'src/core/storage/s3-store.ts env', 'src/core/bus/delivery.ts attempt']) expect(named).toContain(field);
  });

  it('every field a logger call or child binding in src writes is snake_case, so a log query spells it one way', () => {
    const offending = loggerFields()
      .filter((entry) => CAMEL_CASE_FIELD.test(entry.field))
      .map((entry) => `${entry.at}: ${entry.field}`);
    expect(offending).toEqual([]);
  });
});
