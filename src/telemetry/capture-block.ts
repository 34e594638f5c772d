/**
 * A capture block: one written batch's captures (capture-bytes.ts), one after another,
 * compressed with zstd as one frame; a request says where its capture is by the block and
 * the offset in the uncompressed bytes. Both stores keep captures this way (SQLite:
 * db/capture-blocks.ts, PostgreSQL: pg/capture-blocks-pg.ts); this is what they share:
 * packing, repacking without purged captures, and the cache of decompressed blocks that
 * reads walking consecutive records go through.
 */
import { Compressor, decompress } from 'zstd-napi';
import { captureFields, encodeCapture } from './capture-bytes.js';
import type { Capture, RequestRecord } from './record.js';

/** zstd level 3, the library's default: on captures as fast as level 1, and smaller. */
const LEVEL = 3;

/**
 * One compressor for the thread, its level set once: zstd-napi's one-shot `compress` sets
 * the parameters again on every call (about 2 % of the writer thread's samples).
 */
let compressor: Compressor | undefined;
function compress(data: Uint8Array): Buffer {
  if (!compressor) {
    compressor = new Compressor();
    compressor.setParameters({ compressionLevel: LEVEL });
  }
  return compressor.compress(data);
}

/**
 * Decompressed blocks kept for reads that walk consecutive records (the export, the
 * header filter): at most this many bytes, but always the last one read.
 */
const CACHE_BYTES = 16 * 1024 * 1024;

/**
 * batchCaptures collects a batch's captures in order, as bytes (the recorder's, or encoded
 * here), and the earliest start among their requests: what a block is made of.
 */
export function batchCaptures(items: ReadonlyArray<{ record: RequestRecord; capture: Capture | Uint8Array | null }>): { captures: Uint8Array[]; minStartedAt: number } {
  const captures: Uint8Array[] = [];
  let minStartedAt = Number.MAX_SAFE_INTEGER;
  for (const { record, capture } of items) {
    if (!capture) continue;
    captures.push(capture instanceof Uint8Array ? capture : encodeCapture(capture));
    if (record.startedAt < minStartedAt) minStartedAt = record.startedAt;
  }
  return { captures, minStartedAt };
}

/** packBlock compresses a batch's captures into one block; their offsets are the sums of the lengths before each. */
export function packBlock(captures: Uint8Array[]): Buffer {
  const data = captures.length === 1 ? captures[0]! : contiguous(captures) ?? Buffer.concat(captures);
  return compress(data);
}

/** unpackBlock is a stored block's captures, uncompressed. */
export function unpackBlock(stored: Uint8Array): Buffer {
  return decompress(stored);
}

/**
 * repack is a block with only the captures at `offsets` (of the uncompressed `data`), in
 * that order, compressed again, with each one's new offset: what the purge writes when a
 * block keeps some of its captures, so a purged body does not stay on disk inside it.
 */
export function repack(data: Buffer, offsets: readonly number[]): { stored: Buffer; offsets: number[] } {
  const parts: Uint8Array[] = [];
  const moved: number[] = [];
  let at = 0;
  for (const offset of offsets) {
    const part = data.subarray(offset, offset + captureFields(data, offset).length);
    moved.push(at);
    parts.push(part);
    at += part.length;
  }
  return { stored: compress(Buffer.concat(parts)), offsets: moved };
}

/** BlockCache holds decompressed blocks by id, least recently used out first, up to CACHE_BYTES. */
export class BlockCache {
  private readonly blocks = new Map<number, Buffer>();
  private bytes = 0;

  has(block: number): boolean {
    return this.blocks.has(block);
  }

  /** get returns a cached block (now the most recently used), or undefined. */
  get(block: number): Buffer | undefined {
    const data = this.blocks.get(block);
    return data && this.put(block, data);
  }

  /** put caches a decompressed block and returns it. */
  put(block: number, data: Buffer): Buffer {
    this.forget(block);
    this.blocks.set(block, data);
    this.bytes += data.length;
    while (this.bytes > CACHE_BYTES && this.blocks.size > 1) this.forget(this.blocks.keys().next().value!);
    return data;
  }

  /** forget drops a block: rewritten, deleted, or an id given out again. */
  forget(block: number): void {
    const data = this.blocks.get(block);
    if (!data) return;
    this.blocks.delete(block);
    this.bytes -= data.length;
  }
}

/** contiguous returns one view over views that follow each other in one buffer (a batch as sent), else undefined. */
function contiguous(parts: Uint8Array[]): Uint8Array | undefined {
  const first = parts[0]!;
  let end = first.byteOffset + first.byteLength;
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i]!;
    if (p.buffer !== first.buffer || p.byteOffset !== end) return undefined;
    end += p.byteLength;
  }
  return new Uint8Array(first.buffer, first.byteOffset, end - first.byteOffset);
}
