/**
 * The body of one export object: a CBOR sequence (RFC 8742: items one after another, no
 * array around them), compressed with zstd. Records go in as they are read, so the
 * object's size is known before the next one is added.
 */
import { Encoder } from 'cbor-x';
import { compress } from 'zstd-napi';

// Plain CBOR any decoder reads: no record extension (cbor-x's own tag 105), minimal map
// headers. Dates are RFC 8949 tag 1 (seconds since the epoch).
const encoder = new Encoder({ useRecords: false, variableMapSize: true });

/** zstd level 3, the library's default: about 10:1 on JSON captures, fast enough not to matter. */
const ZSTD_LEVEL = 3;

export class CborSequence {
  private readonly parts: Uint8Array[] = [];
  /** Bytes of CBOR added so far (before compression). */
  bytes = 0;
  count = 0;

  add(item: unknown): void {
    const encoded = encoder.encode(item);
    this.parts.push(encoded);
    this.bytes += encoded.length;
    this.count++;
  }

  /** compressed returns the whole sequence, zstd-compressed (one frame). */
  compressed(): Buffer {
    return compress(Buffer.concat(this.parts, this.bytes), { compressionLevel: ZSTD_LEVEL });
  }
}
