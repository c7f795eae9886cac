// Keyboard shortcuts of the signed-in app. `decide` is the pure rule (unit-tested);
// `useShortcuts` listens on the document and runs the handlers.
//
//   n            new entry              g d / g w / g r   dashboard / work log / reports
//   /            search the work log    Ctrl+Enter        save the form you are in
//   ?            list the shortcuts     Ctrl+K            command palette
//
// Single keys are ignored while typing in a field (so `n` and `/` can be typed); the
// Ctrl (or ⌘) combinations work everywhere.
import { onBeforeUnmount, onMounted } from 'vue';

export type ShortcutAction =
  | 'new-entry'
  | 'search'
  | 'go-dashboard'
  | 'go-worklogs'
  | 'go-reports'
  | 'save'
  | 'help'
  | 'palette';

/** What the help dialog lists, in order. */
export const SHORTCUTS: { keys: string[]; label: string }[] = [
  { keys: ['n'], label: 'New entry' },
  { keys: ['/'], label: 'Search the work log' },
  { keys: ['g', 'd'], label: 'Go to the dashboard' },
  { keys: ['g', 'w'], label: 'Go to the work log' },
  { keys: ['g', 'r'], label: 'Go to reports' },
  { keys: ['Ctrl', 'Enter'], label: 'Save the form you are in' },
  { keys: ['Ctrl', 'K'], label: 'Command palette: pages and recent entries' },
  { keys: ['?'], label: 'Show these shortcuts' },
];

export interface KeyPress {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  /** Focus is in a text field, a select or an editable element. */
  inField: boolean;
}

const AFTER_G: Record<string, ShortcutAction> = { d: 'go-dashboard', w: 'go-worklogs', r: 'go-reports' };

/** The action a key press means, and whether a `g` now waits for its second key. */
export function decide(k: KeyPress, afterG: boolean): { action?: ShortcutAction; afterG: boolean } {
  const mod = k.ctrlKey || k.metaKey;
  if (mod && !k.altKey && k.key === 'Enter') return { action: 'save', afterG: false };
  if (mod && !k.altKey && k.key.toLowerCase() === 'k') return { action: 'palette', afterG: false };
  if (mod || k.altKey || k.inField) return { afterG: false };
  if (afterG) return { action: AFTER_G[k.key], afterG: false };
  switch (k.key) {
    case 'g':
      return { afterG: true };
    case 'n':
      return { action: 'new-entry', afterG: false };
    case '/':
      return { action: 'search', afterG: false };
    case '?':
      return { action: 'help', afterG: false };
    default:
      return { afterG: false };
  }
}

/** Whether `el` takes typed text (where single-key shortcuts must not fire). */
export function isField(el: Element | null): boolean {
  if (!el) return false;
  if (el instanceof HTMLElement && el.isContentEditable) return true;
  if (el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement) return true;
  if (el instanceof HTMLInputElement) return !['checkbox', 'radio', 'button', 'submit', 'reset', 'file'].includes(el.type);
  return false;
}

/** How long a `g` waits for its second key. */
const SEQUENCE_MS = 1500;

/** Runs `run(action)` for the shortcuts pressed while the calling component is mounted. */
export function useShortcuts(run: (action: ShortcutAction, event: KeyboardEvent) => void): void {
  let afterG = false;
  let gAt = 0;
  function onKey(e: KeyboardEvent) {
    if (e.defaultPrevented || e.isComposing) return;
    if (afterG && Date.now() - gAt > SEQUENCE_MS) afterG = false;
    const d = decide(
      { key: e.key, ctrlKey: e.ctrlKey, metaKey: e.metaKey, altKey: e.altKey, inField: isField(document.activeElement) },
      afterG,
    );
    if (d.afterG && !afterG) gAt = Date.now();
    afterG = d.afterG;
    if (d.action) {
      e.preventDefault();
      run(d.action, e);
    }
  }
  onMounted(() => document.addEventListener('keydown', onKey));
  onBeforeUnmount(() => document.removeEventListener('keydown', onKey));
}
