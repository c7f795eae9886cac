// Public share links. The SPA's public page is `/share/<token>`; the server's own
// `CreatedShare.url` is the API's HTML rendering (`/api/share/<token>`).
import type { Schemas } from '@/api/types';

export type ShareOut = Schemas['ShareOut'];

/** The public page of a share token: `https://host/share/<token>`. */
export function shareUrl(token: string, origin: string = typeof window !== 'undefined' ? window.location.origin : ''): string {
  return `${origin.replace(/\/+$/, '')}/share/${encodeURIComponent(token)}`;
}

/** Expiry choices for a new link, in hours (CreateShare.expires_in_hours: 1–8760). */
export const SHARE_EXPIRY_OPTIONS: { hours: number; label: string }[] = [
  { hours: 24, label: '1 day' },
  { hours: 168, label: '1 week' },
  { hours: 720, label: '30 days' },
  { hours: 2160, label: '90 days' },
  { hours: 8760, label: '1 year' },
];

/** Links of one document, active first, then newest first. */
export function linksFor(items: ShareOut[], kind: 'report' | 'resume', docId?: string): ShareOut[] {
  const rank = (s: ShareOut) => (s.status === 'active' ? 0 : 1);
  return items
    .filter((s) => s.kind === kind && (docId === undefined || s.doc_id === docId))
    .sort((a, b) => rank(a) - rank(b) || b.created_at.localeCompare(a.created_at));
}

export const SHARE_STATUS_TEXT: Record<string, string> = {
  active: 'Active',
  expired: 'Expired',
  revoked: 'Revoked',
};
