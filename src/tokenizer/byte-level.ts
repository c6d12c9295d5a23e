// The GPT-2 byte-level alphabet: each of the 256 byte values is shown as one printable Unicode
// character, so that BPE tokens are ordinary strings and any UTF-8 text has a spelling in them.

/**
 * Character for each byte value, indexed by byte (the GPT-2 `bytes_to_unicode` table). Printable
 * Latin-1 bytes (`!`..`~`, `¡`..`¬`, `®`..`ÿ`) map to themselves. The other 68 bytes (controls,
 * space, DEL, NBSP and the soft hyphen) map in byte order to U+0100 and up. So a space is `Ġ`
 * (U+0120) and a newline is `Ċ` (U+010A).
 */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** Byte value for each character of {@link BYTE_TO_CHAR}, the inverse table. */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(
  BYTE_TO_CHAR.map((char, byte) => [char, byte]),
);

function buildByteToChar(): string[] {
  const isPrintable = (byte: number): boolean =>
    (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
  const table: string[] = new Array<string>(256);
  let nextShifted = 0x100;
  for (let byte = 0; byte < 256; byte++) {
    if (isPrintable(byte)) {
      table[byte] = String.fromCharCode(byte);
    } else {
      table[byte] = String.fromCharCode(nextShifted);
      nextShifted++;
    }
  }
  return table;
}

/** Spells a byte sequence in the byte-level alphabet, one character per byte. */
export function bytesToByteLevel(bytes: Uint8Array): string {
  let spelled = "";
  for (const byte of bytes) {
    spelled += BYTE_TO_CHAR[byte];
  }
  return spelled;
}

/**
 * Converts a byte-level spelling back to its bytes. Returns undefined when a character is not in
 * the byte-level alphabet.
 */
export function byteLevelToBytes(spelled: string): Uint8Array | undefined {
  const bytes = new Uint8Array(spelled.length);
  for (let i = 0; i < spelled.length; i++) {
    const byte = CHAR_TO_BYTE.get(spelled.charAt(i));
    if (byte === undefined) {
      return undefined;
    }
    bytes[i] = byte;
  }
  return bytes;
}
