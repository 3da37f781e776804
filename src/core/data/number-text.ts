import type pl from 'nodejs-polars';
import { ANY_COLUMN, builtOnce, polars } from './polars-module.js';

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

/** What a column's cells show, one flag per question evidentStyle asks (the number of cells showing it). */
type StyleFlags = Record<'continental' | 'english' | 'spaced' | 'apostrophed' | 'comma' | 'dot', number | null>;

interface NumberTextExpressions {
  strip: pl.Expr;
  /** Cells showing any grouping at all: most columns show none, and one scan then answers for the four below. */
  anyGrouping: pl.Expr;
  flags: pl.Expr[];
  /** The rewrite of a column to plain numbers in one style, by `decimal` and `group`. */
  rewrite: (style: NumberStyle) => pl.Expr;
  /** A column of no evident style in a decimal-comma file: its (first) comma is the decimal mark. */
  decimalComma: pl.Expr;
}

/** Built once (see `ANY_COLUMN`): per column, they took over a second of a semicolon file's eleven columns. */
const expressions = builtOnce((): NumberTextExpressions => {
  const cell = polars().col(ANY_COLUMN);
  const seen = (pattern: string, alias: string) => cell.str.contains(pattern).cast(polars().UInt32).sum().alias(alias);
  // A mark followed by the other one (1.234,5) or by itself (1.234.567) in one number: that mark groups.
  const groupings = { continental: '\\.\\d*[.,]', english: ',\\d*[.,]', spaced: `\\d${SPACES}\\d`, apostrophed: `\\d${APOSTROPHES}\\d` };
  const rewrites = new Map<string, pl.Expr>();
  return {
    // A byte order mark (U+FEFF, a zero-width no-break space) is not whitespace to polars, and one left in a cell by
    // files joined together (the second's mark mid-file) made that cell text and its whole column dropped as not numeric.
    strip: cell.str.replaceAll('\uFEFF', '', true).str.strip().alias(ANY_COLUMN),
    anyGrouping: seen(Object.values(groupings).join('|'), 'anyGrouping'),
    flags: [...Object.entries(groupings).map(([alias, pattern]) => seen(pattern, alias)), seen('\\d,', 'comma'), seen('\\d\\.', 'dot')],
    rewrite: (style) => {
      const key = `${style.decimal} ${style.group}`;
      let rewrite = rewrites.get(key);
      if (!rewrite) {
        const plain = cell.str.replaceAll(style.group, '', false).str.replace(style.decimal, '.', false);
        rewrite = polars().when(cell.str.contains(groupedNumber(style))).then(plain).otherwise(cell).alias(ANY_COLUMN);
        rewrites.set(key, rewrite);
      }
      return rewrite;
    },
    decimalComma: cell.str.replace(',', '.', true).alias(ANY_COLUMN),
  };
});

/**
 * The style a column's own cells show. Dots and commas: a mark followed by the other one in one number (1.234,5
 * or 1,234.5) or written twice in one number (1.234.567) can only be grouping. Spaces (1 234,5, French; also the
 * no-break and thin spaces spreadsheets write) and apostrophes (1'234.5, Swiss) between digits can only be
 * grouping, and the decimal mark is then the one the column's cells write, or the file's when they write none.
 * Undefined when no cell says, or cells disagree.
 */
function evidentStyle(text: pl.DataFrame, fileDecimal: '.' | ','): NumberStyle | undefined {
  const [{ anyGrouping }] = text.select(expressions().anyGrouping).toRecords() as Array<Record<string, number | null>>;
  if (!anyGrouping) return undefined;
  const [flags] = text.select(...expressions().flags).toRecords() as StyleFlags[];
  const groupings: Array<[boolean, () => NumberStyle | undefined]> = [
    [Boolean(flags.continental), () => CONTINENTAL],
    [Boolean(flags.english), () => ENGLISH],
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
  const { strip, rewrite, decimalComma } = expressions();
  const text = series.alias(ANY_COLUMN).toFrame().select(strip);
  const style = evidentStyle(text, fileDecimal) ?? (fileDecimal === '.' ? ENGLISH : undefined);
  return text.select(style ? rewrite(style) : decimalComma).getColumn(ANY_COLUMN).alias(series.name);
}
