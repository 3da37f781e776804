/**
 * Whether `text` could still begin a JSON document: it parses, or the parser only ran out of input (its
 * message says so, or names the end as the position).
 */
function isJsonPrefix(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch (error) {
    const message = (error as Error).message;
    if (/end of JSON input/.test(message)) return true;
    const position = /position (\d+)/.exec(message);
    return position !== null && Number(position[1]) >= text.length;
  }
}

/**
 * Why a config file cannot be used, without quoting its text: JSON.parse's message shows a slice of the file,
 * which may be a secret, and names no position for an unexpected token. The line and column of the first
 * character no JSON document can continue with (found by bisecting the prefixes) are enough to find the mistake.
 */
export function describeConfigFileError(cause: unknown, text: string | undefined): string {
  if (!(cause instanceof SyntaxError) || text === undefined) return (cause as Error).message;
  if (isJsonPrefix(text)) return 'not valid JSON (it ends before the JSON is complete)';
  let good = 0;
  let bad = text.length;
  while (bad - good > 1) {
    const middle = (good + bad) >> 1;
    if (isJsonPrefix(text.slice(0, middle))) good = middle;
    else bad = middle;
  }
  const offset = bad - 1;
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const line = text.slice(0, offset).split('\n').length;
  return `not valid JSON (line ${line}, column ${offset - lineStart + 1})`;
}
