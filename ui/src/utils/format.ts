const numberFmt = new Intl.NumberFormat();

export function formatNumber(n: number | null | undefined): string {
  return n == null ? '—' : numberFmt.format(n);
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * A date for display. A calendar day (`YYYY-MM-DD`, no time zone) is shown as that day in
 * every time zone (`new Date('2024-03-01')` is UTC midnight, i.e. Feb 29 west of UTC); a
 * timestamp is shown as its local date. `opts` are `toLocaleDateString` options.
 * Invalid input is returned unchanged; null/empty gives '—'.
 */
export function formatDate(iso: string | null | undefined, opts?: Intl.DateTimeFormatOptions): string {
  if (!iso) return '—';
  const m = DAY_RE.exec(iso);
  if (m) {
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const t = new Date(0);
    t.setUTCFullYear(y, mo - 1, d); // (Date.UTC maps years 0-99 to 19xx)
    // 2024-02-30 rolls over to March: reject it.
    if (t.getUTCFullYear() !== y || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d) return iso;
    return t.toLocaleDateString(undefined, { ...opts, timeZone: 'UTC' });
  }
  const t = new Date(iso);
  return Number.isNaN(t.getTime()) ? iso : t.toLocaleDateString(undefined, opts);
}
