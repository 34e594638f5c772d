/**
 * Configuration (admin): the whole document in a HuJSON editor, validated as you type by
 * the very validator keyway runs (src/config/validate.ts), every problem listed with its
 * path. Saving shows the diff and keyway's own verdict first, then PUTs with the hash the
 * editor started from: if someone saved in between, keyway answers 409 and this screen
 * shows their version against yours; nothing is overwritten silently. Saved versions can
 * be viewed, compared and rolled back. Secrets arrive masked and stay masked. When the file
 * on disk was changed and keyway refused it, a banner says why and shows that text against
 * what runs.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import {
  blocking,
  readConfig,
  readVersion,
  rollback,
  saveConfig,
  useConfig,
  useHistory,
  validateOnServer,
  type ConfigDoc,
  type Problem,
  type Refused,
  type SaveOutcome,
  type Validation,
  type Version,
} from '../hooks/config';
import Badge from '../ui/badge';
import Button from '../ui/button';
import Card from '../ui/card';
import Dialog from '../ui/dialog';
import DiffView from '../ui/diff-view';
import JsonEditor, { type EditorHandle } from '../ui/json-editor';
import Page from '../ui/page';
import ProblemList, { SaveRefused } from '../ui/problem-list';
import { Empty, Failed, Loading } from '../ui/state';
import { useToast } from '../ui/toast';
import { when } from '../utils/format';
import { localProblems } from '../utils/validate';

export default function ConfigView() {
  const cfg = useConfig();
  const history = useHistory();
  if (cfg.error) return <Failed error={cfg.error} retry={cfg.reload} />;
  if (!cfg.data) return <Loading />;
  return (
    <ConfigEditor
      key={cfg.data.hash}
      doc={cfg.data}
      history={history.data?.versions}
      historyError={history.error?.message}
      onSaved={() => {
        cfg.reload();
        history.reload();
      }}
    />
  );
}

type Dialogs =
  | { kind: 'review' }
  | { kind: 'conflict'; theirs: ConfigDoc }
  | { kind: 'view'; version: Version; text: string }
  | { kind: 'diff'; version: Version; text: string }
  | { kind: 'rollback'; version: Version; text: string }
  | null;

function ConfigEditor({ doc, history, historyError, onSaved }: { doc: ConfigDoc; history: Version[] | undefined; historyError?: string; onSaved: () => void }) {
  const toast = useToast();
  const editor = useRef<EditorHandle>(null);
  const [base, setBase] = useState({ text: doc.config, hash: doc.hash });
  const [draft, setDraft] = useState(doc.config);
  const [problems, setProblems] = useState<Problem[]>(() => localProblems(doc.config));
  const [rejected, setRejected] = useState<{ message: string; problems: Problem[] } | null>(null);
  const [dialog, setDialog] = useState<Dialogs>(null);
  const dirty = draft !== base.text;

  useEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [dirty]);

  const settle = useCallback(
    async (result: SaveOutcome, what: string) => {
      if (result.kind === 'saved') {
        setDialog(null);
        setRejected(null);
        toast.success(`${what}: keyway applied it (no restart needed).`);
        onSaved();
      } else if (result.kind === 'conflict') {
        const theirs = await readConfig();
        if (theirs.ok) setDialog({ kind: 'conflict', theirs: theirs.data });
        else toast.error(theirs.error, 'Loading the newer configuration');
      } else if (result.kind === 'invalid') {
        setDialog(null);
        setRejected({ message: result.message, problems: result.problems });
      } else {
        toast.error(result.error, what);
      }
    },
    [toast, onSaved],
  );

  const openVersion = async (version: Version, kind: 'view' | 'diff' | 'rollback') => {
    const r = await readVersion(version.id);
    if (r.ok) setDialog({ kind, version, text: r.data.config });
    else toast.error(r.error, 'Loading the saved version');
  };

  const counts = countBySeverity(problems);
  return (
    <Page
      title="Configuration"
      actions={
        <>
          {dirty && <Badge tone="warning">unsaved changes</Badge>}
          <Button onClick={() => setDraft(base.text)} disabled={!dirty}>
            Discard changes
          </Button>
          <Button variant="primary" onClick={() => setDialog({ kind: 'review' })} disabled={!dirty}>
            Review and save…
          </Button>
        </>
      }
    >
      <p className="muted small">
        Secrets show as <code>********</code>; saving keeps the stored value. Replace the stars to change a secret, or write <code>{'${ENV_VAR}'}</code> to
        read it from keyway&apos;s environment.
      </p>
      {doc.refused && <RefusedFile refused={doc.refused} running={base.text} onOpen={() => setDraft(doc.refused!.config)} />}
      {rejected && <SaveRefused message={rejected.message} problems={rejected.problems} shown={problems} onReveal={(p) => editor.current?.reveal(p)} />}
      <div className="split">
        <JsonEditor ref={editor} value={draft} label="Configuration (HuJSON)" onChange={setDraft} validate={localProblems} onProblems={setProblems} />
        <div className="stack">
          <Card title="Problems" actions={<ProblemCounts counts={counts} />}>
            {problems.length === 0 ? <Empty>No problems.</Empty> : <ProblemList problems={problems} onReveal={(p) => editor.current?.reveal(p)} />}
          </Card>
          <Card title="Saved versions">
            {historyError ? (
              <p className="problem">{historyError}</p>
            ) : !history ? (
              <Loading />
            ) : history.length === 0 ? (
              <Empty>No saved versions yet.</Empty>
            ) : (
              <ul className="list-plain" aria-label="Saved versions">
                {history.map((v) => (
                  <li key={v.id}>
                    <div className="row">
                      <span>{when(v.savedAt)}</span>
                      {v.id === history.find((h) => isRunning(h, base.hash))?.id && <Badge tone="success">running</Badge>}
                    </div>
                    <div className="row">
                      <span className="mono small muted">{v.hash.slice(0, 10)}</span>
                      <Button size="small" variant="ghost" onClick={() => openVersion(v, 'view')} aria-label={`View version saved ${when(v.savedAt)}`}>
                        View
                      </Button>
                      <Button size="small" variant="ghost" onClick={() => openVersion(v, 'diff')} aria-label={`Compare version saved ${when(v.savedAt)} with the running one`}>
                        Diff
                      </Button>
                      {!isRunning(v, base.hash) && (
                        <Button size="small" variant="ghost" onClick={() => openVersion(v, 'rollback')} aria-label={`Roll back to version saved ${when(v.savedAt)}`}>
                          Roll back
                        </Button>
                      )}
                    </div>
                  </li>
                ))}
              </ul>
            )}
          </Card>
        </div>
      </div>

      {dialog?.kind === 'review' && (
        <ReviewDialog before={base.text} after={draft} onClose={() => setDialog(null)} onSave={async () => settle(await saveConfig(draft, base.hash), 'Configuration saved')} />
      )}
      {dialog?.kind === 'conflict' && (
        <Dialog
          title="Someone else saved first"
          wide
          onClose={() => setDialog(null)}
          footer={
            <>
              <Button
                onClick={() => {
                  setBase({ text: dialog.theirs.config, hash: dialog.theirs.hash });
                  setDraft(dialog.theirs.config);
                  setDialog(null);
                }}
              >
                Discard my edit, load theirs
              </Button>
              <Button
                variant="primary"
                onClick={() => {
                  setBase({ text: dialog.theirs.config, hash: dialog.theirs.hash });
                  setDialog(null);
                }}
              >
                Keep my edit (review it against theirs)
              </Button>
            </>
          }
        >
          <p role="alert" data-testid="conflict">
            The configuration changed after you opened it, so keyway refused to save (409). Nothing was overwritten. Below: what runs now, and your
            edit.
          </p>
          <DiffView before={dialog.theirs.config} after={draft} beforeLabel="Running now (saved by someone else)" afterLabel="Your edit" />
        </Dialog>
      )}
      {dialog?.kind === 'view' && (
        <Dialog title={`Version saved ${when(dialog.version.savedAt)}`} wide onClose={() => setDialog(null)}>
          <JsonEditor value={dialog.text} label="Saved version (read-only)" readOnly />
        </Dialog>
      )}
      {dialog?.kind === 'diff' && (
        <Dialog title={`Version saved ${when(dialog.version.savedAt)} → running`} wide onClose={() => setDialog(null)}>
          <DiffView before={dialog.text} after={base.text} beforeLabel={`Saved ${when(dialog.version.savedAt)}`} afterLabel="Running now" />
        </Dialog>
      )}
      {dialog?.kind === 'rollback' && (
        <Dialog
          title="Roll back the configuration?"
          wide
          onClose={() => setDialog(null)}
          footer={
            <>
              <Button onClick={() => setDialog(null)}>Cancel</Button>
              <Button variant="danger" onClick={async () => settle(await rollback(dialog.version.id, base.hash), 'Rolled back')}>
                Roll back
              </Button>
            </>
          }
        >
          <p>This saves the version from {when(dialog.version.savedAt)} again. The change:</p>
          <DiffView before={base.text} after={dialog.text} beforeLabel="Running now" afterLabel={`Saved ${when(dialog.version.savedAt)}`} />
        </Dialog>
      )}
    </Page>
  );
}

function ReviewDialog({ before, after, onClose, onSave }: { before: string; after: string; onClose: () => void; onSave: () => Promise<void> }) {
  const [verdict, setVerdict] = useState<{ validation?: Validation; error?: string } | undefined>();
  const [saving, setSaving] = useState(false);
  useEffect(() => {
    let live = true;
    validateOnServer(after).then((r) => {
      if (live) setVerdict(r.ok ? { validation: r.data } : { error: r.error.message });
    });
    return () => {
      live = false;
    };
  }, [after]);
  const problems = verdict?.validation ? blocking(verdict.validation.problems) : [];
  const warnings = verdict?.validation ? verdict.validation.problems.filter((p) => p.severity === 'warning') : [];
  const reason = !verdict ? 'keyway is checking the configuration…' : verdict.error ? verdict.error : problems.length > 0 ? 'keyway refuses a configuration with errors; fix them first' : undefined;
  return (
    <Dialog
      title="Review your change"
      wide
      onClose={onClose}
      footer={
        <>
          <Button onClick={onClose}>Keep editing</Button>
          <Button
            variant="primary"
            disabledReason={saving ? 'Saving…' : reason}
            onClick={async () => {
              setSaving(true);
              await onSave();
              setSaving(false);
            }}
          >
            Save and apply
          </Button>
        </>
      }
    >
      {!verdict ? (
        <Loading label="keyway is checking the configuration…" />
      ) : verdict.error ? (
        <p className="problem">{verdict.error}</p>
      ) : problems.length > 0 ? (
        <div className="notice notice-danger" role="alert" data-testid="review-problems">
          <p>
            <strong>keyway would refuse this configuration:</strong>
          </p>
          <ProblemList problems={problems} />
        </div>
      ) : (
        <div className="notice notice-success" role="status">
          <p>keyway accepts this configuration.</p>
          {warnings.length > 0 && (
            <div data-testid="review-warnings">
              <p>Its warnings do not stop it:</p>
              <ProblemList problems={warnings} />
            </div>
          )}
        </div>
      )}
      <DiffView before={before} after={after} beforeLabel="Running now" afterLabel="Your edit" />
    </Dialog>
  );
}

/**
 * RefusedFile: the file on disk was changed (an editor, SIGHUP) and keyway refused it, so
 * the configuration in the editor is still what runs. It names the errors and shows the
 * refused text against the running one; the admin can open it in the editor to fix it.
 */
function RefusedFile({ refused, running, onOpen }: { refused: Refused; running: string; onOpen: () => void }) {
  const errors = blocking(refused.problems);
  return (
    <div className="notice notice-danger" role="alert" data-testid="refused-file">
      <p>
        <strong>The file on disk was changed and refused: keyway keeps running the configuration below.</strong> Refused {when(refused.at)}
        {refused.source === 'signal' ? ' on SIGHUP' : ''}, because of {errors.length === 1 ? 'this error' : `these ${errors.length} errors`}:
      </p>
      <ProblemList problems={errors} />
      <DiffView before={running} after={refused.config} beforeLabel="Running now" afterLabel="Refused file on disk" />
      <div className="row">
        <Button onClick={onOpen}>Open the refused file in the editor</Button>
      </div>
    </div>
  );
}

/** isRunning: history ids carry the first 12 hex digits of the version's hash. */
function isRunning(v: Version, hash: string): boolean {
  return v.hash !== '' && hash.startsWith(v.hash);
}

function countBySeverity(problems: readonly Problem[]) {
  return {
    error: problems.filter((p) => p.severity === 'error').length,
    warning: problems.filter((p) => p.severity === 'warning').length,
    info: problems.filter((p) => p.severity === 'info').length,
  };
}

function ProblemCounts({ counts }: { counts: ReturnType<typeof countBySeverity> }) {
  return (
    <span className="row small">
      {counts.error > 0 && <Badge tone="danger">{counts.error} errors</Badge>}
      {counts.warning > 0 && <Badge tone="warning">{counts.warning} warnings</Badge>}
      {counts.info > 0 && <Badge tone="info">{counts.info} notes</Badge>}
    </span>
  );
}
