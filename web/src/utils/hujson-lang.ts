/**
 * HuJSON for CodeMirror: JSON plus `//` and `/* *\/` comments and trailing commas. A small
 * stream tokenizer is enough for highlighting (validation is keyway's own validator), and
 * unlike a strict JSON grammar it never paints comments as errors.
 */
import { HighlightStyle, StreamLanguage, syntaxHighlighting, type StreamParser } from '@codemirror/language';
import { tags as t } from '@lezer/highlight';

interface State {
  inComment: boolean;
}

const parser: StreamParser<State> = {
  name: 'hujson',
  startState: () => ({ inComment: false }),
  token(stream, state) {
    if (state.inComment) {
      if (stream.skipTo('*/')) {
        stream.match('*/');
        state.inComment = false;
      } else stream.skipToEnd();
      return 'blockComment';
    }
    if (stream.eatSpace()) return null;
    if (stream.match('//')) {
      stream.skipToEnd();
      return 'lineComment';
    }
    if (stream.match('/*')) {
      state.inComment = true;
      return 'blockComment';
    }
    if (stream.match(/^"(?:[^"\\]|\\.)*"?/)) {
      // A string followed by a colon is a property name.
      return /^\s*:/.test(stream.string.slice(stream.pos)) ? 'propertyName' : 'string';
    }
    if (stream.match(/^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/)) return 'number';
    if (stream.match(/^(?:true|false)\b/)) return 'bool';
    if (stream.match(/^null\b/)) return 'null';
    if (stream.match(/^[{}[\]]/)) return 'bracket';
    if (stream.match(/^[,:]/)) return 'punctuation';
    stream.next();
    return 'invalid';
  },
  blankLine: () => {},
  languageData: { commentTokens: { line: '//', block: { open: '/*', close: '*/' } }, closeBrackets: { brackets: ['{', '[', '"'] } },
};

export const hujson = StreamLanguage.define(parser);

const style = HighlightStyle.define([
  { tag: t.propertyName, color: 'var(--hl-property, #0550ae)' },
  { tag: t.string, color: 'var(--hl-string, #0a7d32)' },
  { tag: t.number, color: 'var(--hl-number, #a14a00)' },
  { tag: [t.bool, t.null], color: 'var(--hl-keyword, #8a3fbf)' },
  { tag: [t.lineComment, t.blockComment], color: 'var(--muted)', fontStyle: 'italic' },
  { tag: t.invalid, color: 'var(--danger)' },
]);

export const hujsonHighlighting = syntaxHighlighting(style);
