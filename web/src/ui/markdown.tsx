/**
 * Markdown: renders a model's answer as React elements (never as HTML, so nothing in an
 * answer can run or style the page). It covers what chat answers use: paragraphs,
 * headings, lists, quotes, rules, fenced code with a copy button, inline code, bold,
 * italics and http(s) links. An unfinished code fence (mid-stream) renders as code.
 */
import { useState, type ReactNode } from 'react';
import { useToast } from './toast';

type Block =
  | { kind: 'code'; lang: string; text: string }
  | { kind: 'heading'; level: number; text: string }
  | { kind: 'list'; ordered: boolean; items: string[] }
  | { kind: 'quote'; text: string }
  | { kind: 'rule' }
  | { kind: 'para'; text: string };

function parseBlocks(src: string): Block[] {
  const out: Block[] = [];
  const lines = src.replace(/\r\n?/g, '\n').split('\n');
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    const fence = /^\s*(```+|~~~+)\s*([\w+-]*)/.exec(line);
    if (fence) {
      const close = fence[1]!;
      const body: string[] = [];
      i++;
      while (i < lines.length && !lines[i]!.trim().startsWith(close)) body.push(lines[i++]!);
      i++; // the closing fence (or the end)
      out.push({ kind: 'code', lang: fence[2] ?? '', text: body.join('\n') });
      continue;
    }
    if (line.trim() === '') {
      i++;
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      out.push({ kind: 'heading', level: heading[1]!.length, text: heading[2]! });
      i++;
      continue;
    }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
      out.push({ kind: 'rule' });
      i++;
      continue;
    }
    const bullet = /^\s*([-*+]|\d+[.)])\s+/;
    if (bullet.test(line)) {
      const ordered = /^\s*\d/.test(line);
      const items: string[] = [];
      while (i < lines.length && lines[i]!.trim() !== '') {
        const m = bullet.exec(lines[i]!);
        if (m) items.push(lines[i]!.slice(m[0].length));
        else if (items.length > 0) items[items.length - 1] += `\n${lines[i]!.trim()}`;
        i++;
      }
      out.push({ kind: 'list', ordered, items });
      continue;
    }
    if (line.startsWith('>')) {
      const body: string[] = [];
      while (i < lines.length && lines[i]!.startsWith('>')) body.push(lines[i++]!.replace(/^>\s?/, ''));
      out.push({ kind: 'quote', text: body.join('\n') });
      continue;
    }
    const body: string[] = [];
    while (i < lines.length && lines[i]!.trim() !== '' && !/^\s*(```|~~~|#{1,6}\s|>)/.test(lines[i]!) && !(body.length > 0 && bullet.test(lines[i]!))) body.push(lines[i++]!);
    out.push({ kind: 'para', text: body.join('\n') });
  }
  return out;
}

const INLINE = /(`+)([\s\S]*?)\1|\*\*([\s\S]+?)\*\*|__([\s\S]+?)__|\*([^*\s][^*]*?)\*|_([^_\s][^_]*?)_|\[([^\]]+)\]\(([^)\s]+)\)|\n/g;

function inline(text: string, key = 'i'): ReactNode[] {
  const out: ReactNode[] = [];
  let last = 0;
  let n = 0;
  for (const m of text.matchAll(INLINE)) {
    if (m.index! > last) out.push(text.slice(last, m.index));
    const k = `${key}-${n++}`;
    if (m[1]) out.push(<code key={k}>{m[2]}</code>);
    else if (m[3] ?? m[4]) out.push(<strong key={k}>{inline(m[3] ?? m[4]!, k)}</strong>);
    else if (m[5] ?? m[6]) out.push(<em key={k}>{inline(m[5] ?? m[6]!, k)}</em>);
    else if (m[7]) {
      const href = m[8]!;
      out.push(
        /^(https?:|mailto:)/i.test(href) ? (
          <a key={k} href={href} target="_blank" rel="noopener noreferrer nofollow">
            {inline(m[7], k)}
          </a>
        ) : (
          m[0]
        ),
      );
    } else out.push(<br key={k} />);
    last = m.index! + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

async function copyText(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
  // Plain-HTTP tailnet hosts have no async clipboard: fall back to a selected textarea.
  const area = document.createElement('textarea');
  area.value = text;
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  if (!ok) throw new Error('the browser refused to copy');
}

function CodeBlock({ lang, text }: { lang: string; text: string }) {
  const toast = useToast();
  const [copied, setCopied] = useState(false);
  return (
    <div className="code-block">
      <pre>
        <code data-lang={lang || undefined}>{text}</code>
      </pre>
      <button
        type="button"
        className="btn btn-secondary btn-small copy"
        onClick={() =>
          copyText(text).then(
            () => {
              setCopied(true);
              window.setTimeout(() => setCopied(false), 1500);
            },
            (err: Error) => toast.error(err, 'Copy'),
          )
        }
      >
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  );
}

export default function Markdown({ text }: { text: string }) {
  return (
    <>
      {parseBlocks(text).map((b, i) => {
        const k = `b${i}`;
        switch (b.kind) {
          case 'code':
            return <CodeBlock key={k} lang={b.lang} text={b.text} />;
          case 'heading': {
            const H = `h${Math.min(6, b.level + 2)}` as 'h3';
            return <H key={k}>{inline(b.text, k)}</H>;
          }
          case 'list': {
            const L = b.ordered ? 'ol' : 'ul';
            return (
              <L key={k}>
                {b.items.map((item, j) => (
                  <li key={j}>{inline(item, `${k}-${j}`)}</li>
                ))}
              </L>
            );
          }
          case 'quote':
            return <blockquote key={k}>{inline(b.text, k)}</blockquote>;
          case 'rule':
            return <hr key={k} />;
          default:
            return <p key={k}>{inline(b.text, k)}</p>;
        }
      })}
    </>
  );
}
