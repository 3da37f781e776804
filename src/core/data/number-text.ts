import type pl from 'nodejs-polars';
import { polars } from './polars-module.js';

/**
 * A column's way of writing numbers: its decimal mark, and the marks between groups of thousands, as regex
 * classes (polars' regex): one mark each, but a space may be any of the spaces locales group with.
 */
interface NumberStyle {
  decimal: string;
  group: string;
}

const DOT = '\\.';
const SPACES = '[ \u00A0\u2009\u202F]';
const APOSTROPHES = "['\u2019]";

const ENGLISH: NumberStyle = { decimal: DOT, group: ',' };
const CONTINENTAL: NumberStyle = { decimal: ',', group: DOT };

/** A number whose thousands are grouped by `style.group` (1,234,567.5 or 1.234.567,5), or not grouped at all. */
const groupedNumber = (style: NumberStyle): string => `^[+-]?(\\d{1,3}(${style.group}\\d{3})+|\\d+)(${style.decimal}\\d*)?$`;

/**
 * The style a column's own cells show. Dots and commas: a mark followed by the other one in one number (1.234,5
 * or 1,234.5) or written twice in one number (1.234.567) can only be grouping. Spaces (1 234,5, French; also the
 * no-break and thin spaces spreadsheets write) and apostrophes (1'234.5, Swiss) between digits can only be
 * grouping, and the decimal mark is then the one the column's cells write, or the file's when they write none.
 * Undefined when no cell says, or cells disagree.
 */
function evidentStyle(text: pl.Series, fileDecimal: '.' | ','): NumberStyle | undefined {
  const column = polars().col(text.name);
  const seen = (pattern: string, alias: string) => column.str.contains(pattern).cast(polars().UInt32).sum().alias(alias);
  const [flags] = text
    .toFrame()
    .select(
      seen('\\.\\d*,', 'dotThenComma'),
      seen(',\\d*\\.', 'commaThenDot'),
      seen('\\.\\d*\\.', 'twoDots'),
      seen(',\\d*,', 'twoCommas'),
      seen(`\\d${SPACES}\\d`, 'spaced'),
      seen(`\\d${APOSTROPHES}\\d`, 'apostrophed'),
      seen('\\d,', 'comma'),
      seen('\\d\\.', 'dot'),
    )
    .toRecords() as Array<Record<string, number | null>>;
  const groupings: Array<[boolean, () => NumberStyle | undefined]> = [
    [Boolean(flags.dotThenComma || flags.twoDots), () => CONTINENTAL],
    [Boolean(flags.commaThenDot || flags.twoCommas), () => ENGLISH],
    [Boolean(flags.spaced), () => markedBy(SPACES)],
    [Boolean(flags.apostrophed), () => markedBy(APOSTROPHES)],
  ];
  const shown = groupings.filter(([isShown]) => isShown);
  return shown.length === 1 ? shown[0][1]() : undefined;

  function markedBy(group: string): NumberStyle | undefined {
    if (flags.comma && flags.dot) return undefined;
    const decimal = flags.comma ? ',' : flags.dot ? '.' : fileDecimal;
    return { decimal: decimal === '.' ? DOT : ',', group };
  }
}

/**
 * A text column of numbers written with thousands grouped, or with a decimal comma, rewritten as plain numbers
 * ("1.234.567,89", "1,234,567.89" and "1 234 567,89" all as "1234567.89"), for the cast to numbers that follows.
 * What a column means is read from the column as a whole, never from one cell: its cells show the style
 * (evidentStyle), else the file's does. `fileDecimal` is the decimal mark of the file's locale: a semicolon or tab
 * file is the export of a locale writing decimal commas, where a lone comma stays the decimal mark it always was
 * here (1,5 is 1.5, and 1.5 too); in a comma file a comma inside a quoted number groups thousands (1,234 is 1234).
 * Cells that do not fit the column's style are left as they are, so that the cast finds the column not numeric:
 * nothing is guessed cell by cell.
 */
export function plainNumberText(series: pl.Series, fileDecimal: '.' | ','): pl.Series {
  const text = series.str.strip();
  const style = evidentStyle(text, fileDecimal) ?? (fileDecimal === '.' ? ENGLISH : undefined);
  const column = polars().col(text.name);
  const plain = style ? polars().when(column.str.contains(groupedNumber(style))).then(column.str.replaceAll(style.group, '', false).str.replace(style.decimal, '.', false)).otherwise(column) : column.str.replace(',', '.', true);
  return text.toFrame().select(plain.alias(series.name)).getColumn(series.name);
}
