import pl from 'nodejs-polars';

/** A column's way of writing numbers: its decimal mark, and the mark between groups of thousands. */
interface NumberStyle {
  decimal: '.' | ',';
  group: '.' | ',';
}

const ENGLISH: NumberStyle = { decimal: '.', group: ',' };
const CONTINENTAL: NumberStyle = { decimal: ',', group: '.' };

const escaped = (mark: string): string => (mark === '.' ? '\\.' : mark);

/** A number whose thousands are grouped by `style.group` (1,234,567.5 or 1.234.567,5), or not grouped at all. */
const groupedNumber = (style: NumberStyle): string => `^[+-]?(\\d{1,3}(${escaped(style.group)}\\d{3})+|\\d+)(${escaped(style.decimal)}\\d*)?$`;

/**
 * The style a column's own cells show: a mark followed by the other one in one number (1.234,5 or 1,234.5) or
 * written twice in one number (1.234.567) can only be grouping. Undefined when no cell says, or cells disagree.
 */
function evidentStyle(text: pl.Series): NumberStyle | undefined {
  const column = pl.col(text.name);
  const seen = (pattern: string, alias: string) => column.str.contains(pattern).cast(pl.UInt32).sum().alias(alias);
  const [flags] = text
    .toFrame()
    .select(seen('\\.\\d*,', 'dotThenComma'), seen(',\\d*\\.', 'commaThenDot'), seen('\\.\\d*\\.', 'twoDots'), seen(',\\d*,', 'twoCommas'))
    .toRecords() as Array<Record<string, number | null>>;
  const continental = Boolean(flags.dotThenComma || flags.twoDots);
  const english = Boolean(flags.commaThenDot || flags.twoCommas);
  if (continental === english) return undefined;
  return continental ? CONTINENTAL : ENGLISH;
}

/**
 * A text column of numbers written with thousands grouped, or with a decimal comma, rewritten as plain numbers
 * ("1.234.567,89" and "1,234,567.89" both as "1234567.89"), for the cast to numbers that follows. What a column
 * means is read from the column as a whole, never from one cell: its cells show the style (evidentStyle), else
 * the file's does. `fileDecimal` is the decimal mark of the file's locale: a semicolon or tab file is the export
 * of a locale writing decimal commas, where a lone comma stays the decimal mark it always was here (1,5 is 1.5,
 * and 1.5 too); in a comma file a comma inside a quoted number groups thousands (1,234 is 1234). Cells that do
 * not fit the column's style are left as they are, so that the cast finds the column not numeric: nothing is
 * guessed cell by cell.
 */
export function plainNumberText(series: pl.Series, fileDecimal: '.' | ','): pl.Series {
  const text = series.str.strip();
  const style = evidentStyle(text) ?? (fileDecimal === '.' ? ENGLISH : undefined);
  const column = pl.col(text.name);
  const plain = style ? pl.when(column.str.contains(groupedNumber(style))).then(column.str.replaceAll(style.group, '', true).str.replace(style.decimal, '.', true)).otherwise(column) : column.str.replace(',', '.', true);
  return text.toFrame().select(plain.alias(series.name)).getColumn(series.name);
}
