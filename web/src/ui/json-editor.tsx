/**
 * JsonEditor: CodeMirror 6 with HuJSON highlighting and keyway's own validator as the
 * linter, so problems are underlined where they are while you type. The problems it finds
 * are also handed to `onProblems` (the screen lists them with their paths).
 */
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { bracketMatching, indentOnInput } from '@codemirror/language';
import { lintGutter, linter, type Diagnostic } from '@codemirror/lint';
import { EditorState } from '@codemirror/state';
import { drawSelection, EditorView, highlightActiveLine, highlightActiveLineGutter, keymap, lineNumbers } from '@codemirror/view';
import { useEffect, useImperativeHandle, useRef, type Ref } from 'react';
import type { Problem } from '../hooks/config';
import { hujson, hujsonHighlighting } from '../utils/hujson-lang';
import { problemRange } from '../utils/problem-position';

export interface EditorHandle {
  /** reveal selects the text a problem points at and focuses the editor. */
  reveal(problem: Problem): void;
}

interface Props {
  value: string;
  label: string;
  onChange?: (text: string) => void;
  readOnly?: boolean;
  validate?: (text: string) => Problem[];
  onProblems?: (problems: Problem[]) => void;
  ref?: Ref<EditorHandle>;
}

export default function JsonEditor({ value, label, onChange, readOnly, validate, onProblems, ref }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  // The editor starts from the first value; later values are applied by the effect below.
  const initial = useRef(value);
  // Callbacks in refs: the editor is built once and always calls the latest ones.
  const callbacks = useRef({ onChange, validate, onProblems });
  useEffect(() => {
    callbacks.current = { onChange, validate, onProblems };
  });

  useEffect(() => {
    const extensions = [
      lineNumbers(),
      highlightActiveLineGutter(),
      highlightActiveLine(),
      history(),
      drawSelection(),
      indentOnInput(),
      bracketMatching(),
      hujson,
      hujsonHighlighting,
      keymap.of([...defaultKeymap, ...historyKeymap]),
      EditorView.contentAttributes.of({ 'aria-label': label }),
      EditorState.readOnly.of(readOnly === true),
      EditorView.updateListener.of((u) => {
        if (u.docChanged) callbacks.current.onChange?.(u.state.doc.toString());
      }),
    ];
    if (!readOnly) {
      extensions.push(
        lintGutter(),
        linter(
          (v): Diagnostic[] => {
            const validateText = callbacks.current.validate;
            if (!validateText) return [];
            const text = v.state.doc.toString();
            const problems = validateText(text);
            callbacks.current.onProblems?.(problems);
            return problems.map((p) => ({
              ...problemRange(text, p),
              severity: p.severity === 'warning' ? 'warning' : p.severity === 'error' ? 'error' : 'info',
              message: p.path ? `${p.path}: ${p.message}` : p.message,
            }));
          },
          { delay: 250 },
        ),
      );
    }
    const v = new EditorView({ parent: host.current!, state: EditorState.create({ doc: initial.current, extensions }) });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
  }, [label, readOnly]);

  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value) v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
  }, [value]);

  useImperativeHandle(ref, () => ({
    reveal(problem) {
      const v = view.current;
      if (!v) return;
      const { from, to } = problemRange(v.state.doc.toString(), problem);
      v.dispatch({ selection: { anchor: from, head: to }, scrollIntoView: true });
      v.focus();
    },
  }));

  return <div className="editor" ref={host} />;
}
