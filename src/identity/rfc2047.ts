/**
 * RFC 2047 "encoded-word" decoding (`=?utf-8?q?J=C3=B6rg?=`), which tailscale serve uses
 * for non-ASCII logins and names. Plain text is returned as it is; anything that does not
 * decode to valid UTF-8 becomes '' (as serve does for invalid names).
 */
const ENCODED_WORD = /=\?([^?]+)\?([qQbB])\?([^?]*)\?=/g;

export function decodeRfc2047(value: string): string {
  if (!value.includes('=?')) return value;
  let failed = false;
  // Whitespace between two encoded words is not part of the text (RFC 2047 §6.2).
  const joined = value.replace(/\?=\s+=\?/g, '?==?');
  const out = joined.replace(ENCODED_WORD, (_whole, charset: string, encoding: string, text: string) => {
    if (!/^utf-8$/i.test(charset) && !/^us-ascii$/i.test(charset)) {
      failed = true;
      return '';
    }
    const bytes = encoding.toLowerCase() === 'b' ? Buffer.from(text, 'base64') : qBytes(text);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      failed = true;
      return '';
    }
  });
  return failed ? '' : out;
}

function qBytes(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '_') bytes.push(0x20);
    else if (ch === '=' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(ch.charCodeAt(0));
  }
  return Buffer.from(bytes);
}
