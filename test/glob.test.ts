import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileModelGlob } from '../src/access/glob.js';

test('model globs: * is one segment, ** any number of segments', () => {
  const cases: Array<[string, string, boolean]> = [
    ['**', 'anthropic/claude-opus-4-8', true],
    ['**', 'openrouter/qwen/qwen3', true],
    ['anthropic/**', 'anthropic/claude-opus-4-8', true],
    ['anthropic/**', 'anthropic-x/claude', false],
    ['anthropic/**', 'openrouter/anthropic/claude', false],
    ['openrouter/**', 'openrouter/qwen/qwen3', true],
    ['openrouter/*', 'openrouter/qwen/qwen3', false],
    ['openai/gpt-5', 'openai/gpt-5', true],
    ['openai/gpt-5', 'openai/gpt-5-mini', false],
    ['*/claude-sonnet*', 'anthropic/claude-sonnet-4-6', true],
    ['*/claude-sonnet*', 'a/b/claude-sonnet-4-6', false],
    ['aperture-*/**', 'aperture-east/gpt-5', true],
    ['aperture-*/**', 'other/gpt-5', false],
    ['**/gpt-5', 'openrouter/openai/gpt-5', true],
    ['**/gpt-5', 'openai/gpt-5', true],
    ['a/**/z', 'a/z', true],
    ['a/**/z', 'a/b/c/z', true],
    ['a.b/*', 'aXb/m', false], // dots are literal
  ];
  for (const [pattern, fqn, want] of cases) {
    assert.equal(compileModelGlob(pattern)(fqn), want, `${pattern} ~ ${fqn}`);
  }
});
