/**
 * keyway's Node flags (src/node-flags.ts) only help if every way of starting it passes
 * them: the `keyway` command's first line, the package's scripts and the commands the
 * operations guide gives. A launch path that forgets them runs, but records telemetry
 * at about a third more CPU a request; this keeps them in step.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { NODE_FLAGS, youngGenerationSized } from '../src/node-flags.js';

const repo = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const flags = NODE_FLAGS.join(' ');

test("the keyway command's first line, npm start and npm run demo pass the flags", async () => {
  const shebang = (await readFile(repo('src/cli.ts'), 'utf8')).split('\n')[0];
  // `env -S` splits the line into the command and its flags (a plain shebang passes one argument).
  assert.equal(shebang, `#!/usr/bin/env -S node ${flags}`);
  const { scripts } = JSON.parse(await readFile(repo('package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.equal(scripts.start, `node ${flags} dist/cli.js serve`);
  assert.equal(scripts.demo, `node ${flags} dist/cli.js demo`);
});

test('every command in the operations guide that starts a gateway passes the flags', async () => {
  const guide = await readFile(repo('docs/operations.md'), 'utf8');
  const starts = guide.split('\n').filter((line) => /\bnode\b.*dist\/cli\.js (serve|demo)\b/.test(line));
  assert.ok(starts.length >= 3, `found ${starts.length} commands`);
  for (const line of starts) assert.ok(line.includes(`node ${flags} dist/cli.js`), line);
});

test('a semi-space size counts from the command line or NODE_OPTIONS, in any spelling V8 takes', () => {
  assert.equal(youngGenerationSized([], ''), false);
  assert.equal(youngGenerationSized(['--max-old-space-size=512'], '--enable-source-maps'), false);
  assert.equal(youngGenerationSized(['--max-semi-space-size=32'], ''), true);
  assert.equal(youngGenerationSized([], '--inspect --max_semi_space_size=64'), true);
  assert.equal(youngGenerationSized(['--max-semi-space-size', '64'], ''), true);
});

test('the flags take effect: twice the young generation of a plain node', async () => {
  const newSpace = async (args: string[]) => {
    const script = "const v8 = require('node:v8'); const keep = []; for (let i = 0; i < 1e6; i++) keep.push({ i, s: 'x' + i }); console.log(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size)";
    const { stdout } = await promisify(execFile)(process.execPath, [...args, '-e', script]);
    return Number(stdout.trim());
  };
  const [plain, flagged] = await Promise.all([newSpace([]), newSpace([...NODE_FLAGS])]);
  assert.equal(flagged, 2 * plain, `new space ${flagged} against ${plain} bytes`);
});
