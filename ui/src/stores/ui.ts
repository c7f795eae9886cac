// UI preferences and transient notifications.
import { defineStore } from 'pinia';
import { ref, watch } from 'vue';
import { apiError } from '@/api/errors';

export type Theme = 'light' | 'dark' | 'system';
export type ToastKind = 'info' | 'success' | 'error';
export interface Toast {
  id: number;
  kind: ToastKind;
  message: string;
}

export const THEME_KEY = 'ar.theme';

function readTheme(): Theme {
  try {
    const v = localStorage.getItem(THEME_KEY);
    return v === 'light' || v === 'dark' ? v : 'system';
  } catch {
    return 'system';
  }
}

/** `data-theme` on <html> overrides prefers-color-scheme (see styles/theme.css). */
function applyTheme(theme: Theme): void {
  if (typeof document === 'undefined') return;
  const root = document.documentElement;
  if (theme === 'system') delete root.dataset.theme;
  else root.dataset.theme = theme;
}

export const useUiStore = defineStore('ui', () => {
  const theme = ref<Theme>(readTheme());
  applyTheme(theme.value);
  watch(theme, (t) => {
    applyTheme(t);
    try {
      if (t === 'system') localStorage.removeItem(THEME_KEY);
      else localStorage.setItem(THEME_KEY, t);
    } catch {
      /* private mode: not persisted */
    }
  });

  function setTheme(t: Theme): void {
    theme.value = t;
  }
  function cycleTheme(): void {
    theme.value = theme.value === 'system' ? 'light' : theme.value === 'light' ? 'dark' : 'system';
  }

  const toasts = ref<Toast[]>([]);
  let nextId = 1;

  /** Show a toast; it goes away after `timeoutMs` (0 = stays until dismissed). */
  function toast(message: string, kind: ToastKind = 'info', timeoutMs = kind === 'error' ? 8000 : 4000): number {
    const id = nextId++;
    toasts.value.push({ id, kind, message });
    if (timeoutMs > 0) setTimeout(() => dismiss(id), timeoutMs);
    return id;
  }
  /** Toast an API (or any) failure as a human message. */
  function toastError(e: unknown): number {
    return toast(apiError(e).message, 'error');
  }
  function dismiss(id: number): void {
    toasts.value = toasts.value.filter((t) => t.id !== id);
  }

  return { theme, setTheme, cycleTheme, toasts, toast, toastError, dismiss };
});
