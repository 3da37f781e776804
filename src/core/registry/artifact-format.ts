/** Why an artifact's `format` is not `expected`, or undefined when it is, or when the artifact names none. */
export function artifactFormatProblem(artifact: unknown, expected: string): string | undefined {
  if (artifact === null || typeof artifact !== 'object' || Array.isArray(artifact)) return undefined;
  const format = (artifact as { format?: unknown }).format;
  if (format === undefined || format === expected) return undefined;
  return `has format ${JSON.stringify(format).slice(0, 80)} where flts reads ${JSON.stringify(expected)}`;
}
