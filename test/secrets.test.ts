import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SECRET_MASK, maskSecrets, restoreSecrets } from '../src/config/secrets.js';

const stored = `// my config
{
  "providers": {
    "a": { "baseurl": "https://a", "apikey": "sk-test-secret-a" }, // key a
    "b": { "baseurl": "https://b", "apikey": "\${B_KEY}" },
  },
  "hooks": { "h": { "url": "https://h", "apikey": "hook-secret" } },
}`;

test('maskSecrets hides literal secrets, keeps comments and macros', () => {
  const masked = maskSecrets(stored);
  assert.ok(!masked.includes('sk-test-secret-a'));
  assert.ok(!masked.includes('hook-secret'));
  assert.ok(masked.includes('${B_KEY}'));
  assert.ok(masked.includes('// key a'));
  assert.equal(masked.split(SECRET_MASK).length - 1, 2);
});

test('restoreSecrets puts stored secrets back where the mask was written back', () => {
  const edited = maskSecrets(stored).replace('"https://a"', '"https://a2"');
  const { text, unresolved } = restoreSecrets(edited, stored);
  assert.deepEqual(unresolved, []);
  assert.ok(text.includes('"apikey": "sk-test-secret-a"'));
  assert.ok(text.includes('"https://a2"'));
  assert.ok(text.includes('hook-secret'));
});

test('a mask where nothing was stored is reported, not saved', () => {
  const edited = maskSecrets(stored).replace('"b": {', `"c": { "baseurl": "https://c", "apikey": "${SECRET_MASK}" }, "b": {`);
  const { unresolved } = restoreSecrets(edited, stored);
  assert.deepEqual(unresolved, ['providers.c.apikey']);
});
