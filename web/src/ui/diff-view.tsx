/**
 * DiffView: two versions of the configuration side by side (CodeMirror's merge view),
 * unchanged stretches collapsed. Read-only; used before saving, on a conflict and in the
 * history.
 */
import { MergeView } from '@codemirror/merge';
import { EditorState } from '@codemirror/state';
import { EditorView, lineNumbers } from '@codemirror/view';
import { useEffect, useRef, useState } from 'react';
import { hujson, hujsonHighlighting } from '../utils/hujson-lang';

export default function DiffView({ before, after, beforeLabel, afterLabel }: { before: string; after: string; beforeLabel: string; afterLabel: string }) {
  const host = useRef<HTMLDivElement>(null);
  const [changes, setChanges] = useState(0);
  useEffect(() => {
    const extensions = [lineNumbers(), hujson, hujsonHighlighting, EditorState.readOnly.of(true), EditorView.editable.of(false)];
    const view = new MergeView({
      a: { doc: before, extensions: [...extensions, EditorView.contentAttributes.of({ 'aria-label': beforeLabel })] },
      b: { doc: after, extensions: [...extensions, EditorView.contentAttributes.of({ 'aria-label': afterLabel })] },
      parent: host.current!,
      collapseUnchanged: { margin: 3, minSize: 6 },
      gutter: true,
    });
    setChanges(view.chunks.length);
    return () => view.destroy();
  }, [before, after, beforeLabel, afterLabel]);
  return (
    <div className="diff">
      <div className="diff-labels">
        <span>{beforeLabel}</span>
        <span>{afterLabel}</span>
      </div>
      <div className="editor" ref={host} />
      <p className="muted small" role="status">
        {changes === 0 ? 'No differences.' : `${changes} changed ${changes === 1 ? 'block' : 'blocks'}.`}
      </p>
    </div>
  );
}
