// File upload with progress. fetch() can't report upload progress, so this uses
// XMLHttpRequest with the session's bearer token; on a 401 it refreshes the session once
// (through the auth store's shared refresh) and retries. The transport is injectable so
// the retry logic is unit-testable.
import { apiUrl } from '@/api/client';
import { apiError, ApiRequestError } from '@/api/errors';
import { useAuthStore } from '@/stores/auth';

export interface UploadDeps {
  getToken(): string | null;
  /** Resolves true when a fresh token is in place. */
  refresh(): Promise<boolean>;
  createXhr(): XMLHttpRequest;
}

export interface UploadOptions<T> {
  /** Multipart field name (the spec's `file` for attachments). */
  field?: string;
  /** 0..1, or null when the size is unknown. */
  onProgress?(fraction: number | null): void;
  deps?: Partial<UploadDeps>;
  /** Parses the JSON answer (default: as is). */
  parse?(body: unknown): T;
}

export interface UploadHandle<T> {
  promise: Promise<T>;
  abort(): void;
}

/** Thrown (rejected) when the user aborts. */
export class UploadAborted extends Error {
  constructor() {
    super('Upload cancelled');
    this.name = 'UploadAborted';
  }
}

function defaultDeps(): UploadDeps {
  const auth = useAuthStore();
  return {
    getToken: () => auth.token,
    refresh: () => auth.refresh(),
    createXhr: () => new XMLHttpRequest(),
  };
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** POSTs `file` as multipart/form-data to an API path (e.g. `/worklogs/{id}/attachments`). */
export function uploadFile<T = unknown>(path: string, file: Blob, opts: UploadOptions<T> = {}): UploadHandle<T> {
  const given = opts.deps ?? {};
  const deps: UploadDeps =
    given.getToken && given.refresh && given.createXhr ? (given as UploadDeps) : { ...defaultDeps(), ...given };
  const field = opts.field ?? 'file';
  const name = file instanceof File ? file.name : 'upload';
  let current: XMLHttpRequest | null = null;
  let aborted = false;

  function attempt(): Promise<{ status: number; body: unknown }> {
    return new Promise((resolve, reject) => {
      const xhr = deps.createXhr();
      current = xhr;
      xhr.open('POST', apiUrl(path));
      const token = deps.getToken();
      if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.upload.onprogress = (e: ProgressEvent) => {
        opts.onProgress?.(e.lengthComputable && e.total > 0 ? e.loaded / e.total : null);
      };
      xhr.onload = () => resolve({ status: xhr.status, body: parseJson(xhr.responseText) });
      xhr.onerror = () => reject(new ApiRequestError(apiError(new TypeError('Network error during upload'))));
      xhr.onabort = () => reject(new UploadAborted());
      const form = new FormData();
      form.append(field, file, name);
      opts.onProgress?.(0);
      xhr.send(form);
    });
  }

  const promise = (async () => {
    let res = await attempt();
    if (aborted) throw new UploadAborted();
    if (res.status === 401) {
      if (await deps.refresh()) {
        if (aborted) throw new UploadAborted();
        res = await attempt();
        if (aborted) throw new UploadAborted();
      }
    }
    if (res.status < 200 || res.status >= 300) throw new ApiRequestError(apiError(res.body, res.status));
    opts.onProgress?.(1);
    return opts.parse ? opts.parse(res.body) : (res.body as T);
  })();

  return {
    promise,
    abort() {
      aborted = true;
      current?.abort();
    },
  };
}

/** Human size: 1536 -> "1.5 KB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}
