/** UTF-8 bytes of `text` (a lone surrogate counts 3, as protobuf encodes it). */
export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * The longest head of `text` that is at most `maxBytes` UTF-8 bytes, cut on a character
 * boundary. Encodes at most `maxBytes` units of the text, so a 50 MB string costs no more
 * than its kept head.
 */
export function utf8Head(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes) return text;
  // Every unit is at least one byte, so the head lies within the first maxBytes units.
  let units = Math.min(text.length, maxBytes);
  const last = text.charCodeAt(units - 1);
  if (units < text.length && last >= 0xd800 && last <= 0xdbff) units--; // keep pairs whole
  const encoded = Buffer.from(text.slice(0, units), 'utf8');
  if (encoded.length <= maxBytes) return encoded.toString('utf8');
  let end = maxBytes;
  // Back off to the start of a character: continuation bytes are 0b10xxxxxx.
  while (end > 0 && (encoded[end]! & 0xc0) === 0x80) end--;
  return encoded.subarray(0, end).toString('utf8');
}
