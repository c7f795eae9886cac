// File downloads from authenticated endpoints: authFetch -> Blob -> object URL -> <a download>.
import { apiUrl, authFetch } from '@/api/client';
import { apiError, ApiRequestError } from '@/api/errors';

/** The file name of a `Content-Disposition` header (RFC 6266 `filename*` wins), or null. */
export function filenameFromDisposition(header: string | null | undefined): string | null {
  if (!header) return null;
  const star = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(header);
  if (star) {
    try {
      return decodeURIComponent((star[2] ?? '').trim().replace(/^"|"$/g, ''));
    } catch {
      /* fall through to the plain name */
    }
  }
  const plain = /filename\s*=\s*("([^"]*)"|[^;]+)/i.exec(header);
  if (plain) return (plain[2] ?? plain[1] ?? '').trim() || null;
  return null;
}

/** Downloads `path` (an API path like `/reports/1/export?format=pdf`). Throws ApiRequestError. */
export async function downloadFile(path: string, fallbackName: string): Promise<void> {
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
  const name = filenameFromDisposition(res.headers.get('content-disposition')) ?? fallbackName;
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
