// SseParser against the WHATWG event-stream rules and against every way a stream can be
// cut into chunks: each split must yield exactly the events of the unsplit stream.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SseParser } from '../src/telemetry/sse-parser.js';

type Ev = [event: string | undefined, data: string];

/** parse feeds `chunks` one by one, then ends the stream, and returns the dispatched events. */
function parse(chunks: Array<Buffer | string>): Ev[] {
  const out: Ev[] = [];
  const p = new SseParser((event, data) => out.push([event, data]));
  for (const c of chunks) p.push(c);
  p.end();
  return out;
}

// A stream that exercises every rule at once: BOM, LF / CRLF / lone-CR line ends,
// comments, multi-line data, multi-byte characters (2, 3 and 4 bytes), a value without
// the optional space, a value whose second space is kept, a field without a colon,
// id/retry/unknown fields, an event name that must not leak into the next event, an
// event without data, and a last event that lacks only its blank line.
const SAMPLE = Buffer.from(
  '\uFEFF: comment at the start\n' +
    'event: message_start\n' +
    'data: {"type":"message_start","text":"héllo"}\n\n' +
    'event: delta\r\ndata: 日本語\r\ndata:second line\r\n\r\n' +
    'id: 42\rretry: 1000\rdata:  two spaces\r\r' +
    'event: only-event\n\n' +
    'data\n\n' +
    'unknown: field\ndata: emoji 😀 end\n: trailing comment\n\n' +
    'event: last\ndata: {"done":true}\n',
  'utf8',
);

const EXPECTED: Ev[] = [
  ['message_start', '{"type":"message_start","text":"héllo"}'],
  ['delta', '日本語\nsecond line'],
  [undefined, ' two spaces'],
  [undefined, ''],
  [undefined, 'emoji 😀 end'],
  ['last', '{"done":true}'],
];

test('sse parser: the sample stream in one chunk', () => {
  assert.deepEqual(parse([SAMPLE]), EXPECTED);
});

test('sse parser: every single split point gives the same events', () => {
  for (let i = 0; i <= SAMPLE.length; i++) {
    assert.deepEqual(parse([SAMPLE.subarray(0, i), SAMPLE.subarray(i)]), EXPECTED, `split at byte ${i}`);
  }
});

test('sse parser: every pair of split points gives the same events', () => {
  for (let i = 0; i <= SAMPLE.length; i++) {
    for (let j = i; j <= SAMPLE.length; j++) {
      const got = parse([SAMPLE.subarray(0, i), SAMPLE.subarray(i, j), SAMPLE.subarray(j)]);
      assert.deepEqual(got, EXPECTED, `split at bytes ${i} and ${j}`);
    }
  }
});

test('sse parser: one byte per chunk, and strings instead of buffers', () => {
  const bytes: Buffer[] = [];
  for (let i = 0; i < SAMPLE.length; i++) bytes.push(SAMPLE.subarray(i, i + 1));
  assert.deepEqual(parse(bytes), EXPECTED);
  const text = SAMPLE.toString('utf8'); // TextDecoder-free path; the BOM is still dropped
  assert.deepEqual(parse([text]), EXPECTED);
  const chars = Array.from(text); // whole code points, one per chunk
  assert.deepEqual(parse(chars), EXPECTED);
});

test('sse parser: CR and LF of one line end in different chunks are one line end', () => {
  // A second line end here would be a blank line and dispatch "a" alone.
  assert.deepEqual(parse(['data: a\r', '\ndata: b\r', '\n\r', '\n']), [[undefined, 'a\nb']]);
  // An empty chunk between them changes nothing.
  assert.deepEqual(parse(['data: a\r', '', '\n\r\n']), [[undefined, 'a']]);
  // A lone CR is a line end of its own.
  assert.deepEqual(parse(['data: a\r', 'data: b\r\r']), [[undefined, 'a\nb']]);
});

test('sse parser: a multi-byte character split across chunks', () => {
  const bytes = Buffer.from('data: 😀é\n\n', 'utf8');
  const emoji = 6; // the 4-byte emoji starts right after "data: "
  for (let cut = emoji + 1; cut < emoji + 6; cut++) {
    assert.deepEqual(parse([bytes.subarray(0, cut), bytes.subarray(cut)]), [[undefined, '😀é']], `cut at ${cut}`);
  }
});

test('sse parser: invalid UTF-8 becomes U+FFFD', () => {
  assert.deepEqual(parse([Buffer.from([0x64, 0x61, 0x74, 0x61, 0x3a, 0xff, 0x0a, 0x0a])]), [[undefined, '\uFFFD']]);
});

test('sse parser: only a leading BOM is dropped', () => {
  assert.deepEqual(parse(['\uFEFFdata: x\n\n\uFEFFdata: y\n\n']), [[undefined, 'x']]);
  // The second BOM belongs to the field name "\uFEFFdata", an unknown field: nothing dispatched.
});

test('sse parser: event names reset after each dispatch, also after an event without data', () => {
  assert.deepEqual(parse(['event: a\ndata: 1\n\ndata: 2\n\nevent: b\n\ndata: 3\n\n']), [
    ['a', '1'],
    [undefined, '2'],
    [undefined, '3'],
  ]);
  // An empty event name is no name.
  assert.deepEqual(parse(['event:\ndata: x\n\n']), [[undefined, 'x']]);
});

test('sse parser: field parsing details', () => {
  assert.deepEqual(parse(['data:no-space\n\n']), [[undefined, 'no-space']]);
  assert.deepEqual(parse(['data: a: b\n\n']), [[undefined, 'a: b']]);
  assert.deepEqual(parse(['data\ndata\n\n']), [[undefined, '\n']]);
  assert.deepEqual(parse(['Data: case matters\n\n']), []);
  assert.deepEqual(parse(['data : space before colon\n\n']), []);
  assert.deepEqual(parse([':comment only\n\n']), []);
});

test('sse parser: end of stream', () => {
  // Complete except for the blank line: dispatched.
  assert.deepEqual(parse(['event: e\ndata: x\n']), [['e', 'x']]);
  assert.deepEqual(parse(['data: x\r']), [[undefined, 'x']]);
  // Cut inside a line: the event may be cut short, so nothing is dispatched.
  assert.deepEqual(parse(['data: {"usage":{"input_tok']), []);
  assert.deepEqual(parse(['data: first line\ndata: sec']), []);
  // Cut inside a multi-byte character: also an unfinished line.
  assert.deepEqual(parse([Buffer.from('data: x\n\ndata: \xe6', 'latin1')]), [[undefined, 'x']]);
  // Nothing pending.
  assert.deepEqual(parse(['data: x\n\n']), [[undefined, 'x']]);
  assert.deepEqual(parse([]), []);
});

test('sse parser: reusable after end(), with a fresh BOM and decoder state', () => {
  const out: Ev[] = [];
  const p = new SseParser((event, data) => out.push([event, data]));
  p.push(Buffer.from([0x64, 0x61, 0x74, 0x61, 0x3a, 0x20, 0xc3])); // "data: " + half of "é"
  p.end();
  p.push('\uFEFFdata: again\n\n');
  p.end();
  assert.deepEqual(out, [[undefined, 'again']]);
});

test('sse parser: a long line spread over many chunks is joined once', () => {
  const value = 'x'.repeat(100_000);
  const chunks: string[] = ['data: '];
  for (let i = 0; i < value.length; i += 7) chunks.push(value.slice(i, i + 7));
  chunks.push('\n\n');
  assert.deepEqual(parse(chunks), [[undefined, value]]);
});

test('sse parser: the handler sees events in order as soon as they are complete', () => {
  const seen: string[] = [];
  const p = new SseParser((_e, data) => seen.push(data));
  p.push('data: 1\n\ndata: 2\n');
  assert.deepEqual(seen, ['1']);
  p.push('\n');
  assert.deepEqual(seen, ['1', '2']);
  p.end();
  assert.deepEqual(seen, ['1', '2']);
});
