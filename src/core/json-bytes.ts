/**
 * The character codes that shape JSON text, for scanners that read it as bytes or char codes without parsing it
 * (every one is ASCII, and no byte of a multi-byte UTF-8 character is one of them). Read into module constants
 * where used, so a scanner's hot loop compares against constants.
 */
export const JSON_BYTES = {
  QUOTE: 0x22,
  BACKSLASH: 0x5c,
  COLON: 0x3a,
  COMMA: 0x2c,
  OPEN_OBJECT: 0x7b,
  CLOSE_OBJECT: 0x7d,
  OPEN_ARRAY: 0x5b,
  CLOSE_ARRAY: 0x5d,
} as const;

/** JSON's four whitespace characters (space, line feed, carriage return, tab). */
export const isJsonWhitespace = (byte: number): boolean => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
