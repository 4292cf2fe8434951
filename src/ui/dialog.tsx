// The confirmation dialog every mutation goes through: it names what will happen, runs the call on
// OK, and on failure keeps the dialog open showing the API's error text. Keyboard: focus starts on
// Cancel, Escape cancels, Tab moves between the buttons and stays in the dialog.
import { useEffect, useRef, useState, useLayoutEffect } from 'preact/hooks';
import type { CallResult } from './connection.js';

export interface Pending {
  /** What will happen, in plain words. */
  question: string;
  /** Extra lines (e.g. a migration plan). */
  detail?: string;
  danger?: boolean;
  run(): Promise<CallResult>;
  done?(body: Record<string, unknown>): void;
}

export function ConfirmDialog({ pending, onClose }: { pending: Pending; onClose: (result: CallResult | null) => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const cancel = useRef<HTMLButtonElement>(null);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    cancel.current?.focus();
  }, []);
  // A layout effect: the key handler is in place as soon as the dialog is on screen (a plain effect
  // runs after the next paint, and an Escape pressed at once was lost).
  useLayoutEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (e.key === 'Escape' && !busy) onClose(null);
      if (e.key !== 'Tab') return;
      // Keep the focus inside the dialog.
      const buttons = [...(box.current?.querySelectorAll<HTMLButtonElement>('button:not([disabled])') ?? [])];
      const first = buttons[0];
      const last = buttons[buttons.length - 1];
      if (!first || !last) return;
      if (e.shiftKey && document.activeElement === first) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && document.activeElement === last) {
        e.preventDefault();
        first.focus();
      } else if (!box.current?.contains(document.activeElement)) {
        e.preventDefault();
        first.focus();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [busy]);
  const ok = async (): Promise<void> => {
    setBusy(true);
    setError('');
    const r = await pending.run();
    setBusy(false);
    if (r.ok) {
      pending.done?.(r.body);
      onClose(r);
    } else setError(`${r.status ? `HTTP ${r.status}: ` : ''}${r.error}`);
  };
  return (
    <div class="overlay">
      <div class="dialog" ref={box} role="dialog" aria-modal="true" aria-labelledby="dlg-q" data-testid="confirm-dialog">
        <h3>{pending.danger ? 'Careful' : 'Confirm'}</h3>
        <p id="dlg-q">{pending.question}</p>
        {pending.detail ? <pre class="detail">{pending.detail}</pre> : null}
        {error ? (
          <p class="error" role="alert" data-testid="dialog-error">
            {error}
          </p>
        ) : null}
        <div class="buttons">
          <button ref={cancel} onClick={() => onClose(null)} disabled={busy}>
            {error ? 'Close' : 'Cancel'}
          </button>
          {error ? null : (
            <button class={pending.danger ? 'danger' : 'primary'} onClick={() => void ok()} disabled={busy} data-testid="confirm-ok">
              {busy ? 'Working…' : 'OK, do it'}
            </button>
          )}
        </div>
      </div>
    </div>
  );
}
