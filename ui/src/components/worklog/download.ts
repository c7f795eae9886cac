// Authenticated downloads: fetch with the session (authFetch) into a Blob, then save it
// through a temporary object URL (a plain <a href> can't send the bearer token).
import { apiUrl, authFetch } from '@/api/client';
import { apiError, ApiRequestError } from '@/api/errors';

/** `attachment; filename="a b.txt"; filename*=UTF-8''a%20b.txt` -> `a b.txt`. */
export function filenameFromDisposition(header: string | null, fallback: string): string {
  if (!header) return fallback;
  const star = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(header);
  if (star) {
    try {
      return decodeURIComponent(star[2]!.trim().replace(/^"|"$/g, ''));
    } catch {
      /* fall through */
    }
  }
  const plain = /filename\s*=\s*("([^"]*)"|[^;]+)/i.exec(header);
  const name = plain ? (plain[2] ?? plain[1] ?? '').trim() : '';
  return name || fallback;
}

/** Fetches an API path with the session; throws ApiRequestError on a non-2xx answer. */
export async function fetchBlob(path: string): Promise<{ blob: Blob; filename: string | null }> {
  const res = await authFetch(new Request(apiUrl(path)));
  if (!res.ok) {
    let body: unknown = undefined;
    try {
      body = await res.json();
    } catch {
      /* not JSON */
    }
    throw new ApiRequestError(apiError(body, res.status));
  }
  const blob = await res.blob();
  return { blob, filename: filenameFromDisposition(res.headers.get('Content-Disposition'), '') || null };
}

/** Saves a Blob as a file via a temporary object URL. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Downloads an API path as a file. Throws ApiRequestError (use apiError / toastError). */
export async function downloadFile(path: string, fallbackName: string): Promise<void> {
  const { blob, filename } = await fetchBlob(path);
  saveBlob(blob, filename ?? fallbackName);
}
