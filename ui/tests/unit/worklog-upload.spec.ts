import { describe, expect, it, vi } from 'vitest';
import { ApiRequestError } from '@/api/errors';
import { formatBytes, uploadFile, UploadAborted } from '@/components/worklog/upload';

/** A scripted XMLHttpRequest: each instance answers with the next status/body. */
function fakeXhrs(answers: { status: number; body?: unknown; network?: boolean }[]) {
  const made: FakeXhr[] = [];
  class FakeXhr {
    headers: Record<string, string> = {};
    method = '';
    url = '';
    status = 0;
    responseText = '';
    sent: FormData | null = null;
    upload: { onprogress: ((e: ProgressEvent) => void) | null } = { onprogress: null };
    onload: (() => void) | null = null;
    onerror: (() => void) | null = null;
    onabort: (() => void) | null = null;
    open(m: string, u: string) {
      this.method = m;
      this.url = u;
    }
    setRequestHeader(k: string, v: string) {
      this.headers[k] = v;
    }
    send(body: FormData) {
      this.sent = body;
      const a = answers[made.indexOf(this)]!;
      queueMicrotask(() => {
        this.upload.onprogress?.({ lengthComputable: true, loaded: 50, total: 100 } as ProgressEvent);
        if (a.network) return this.onerror?.();
        this.status = a.status;
        this.responseText = a.body === undefined ? '' : JSON.stringify(a.body);
        this.onload?.();
      });
    }
    abort() {
      queueMicrotask(() => this.onabort?.());
    }
  }
  const createXhr = () => {
    const x = new FakeXhr();
    made.push(x);
    return x as unknown as XMLHttpRequest;
  };
  return { made, createXhr };
}

const file = () => new File(['hello'], 'note.txt', { type: 'text/plain' });
const unauthorized = { error: { code: 'token_expired', message: 'expired', correlation_id: 'c' } };

describe('uploadFile', () => {
  it('sends the file as multipart field `file` with the bearer token and reports progress', async () => {
    const { made, createXhr } = fakeXhrs([{ status: 201, body: { id: 'a1' } }]);
    const progress: (number | null)[] = [];
    const h = uploadFile('/worklogs/e1/attachments', file(), {
      onProgress: (p) => progress.push(p),
      deps: { getToken: () => 'tok-1', refresh: vi.fn(), createXhr },
    });
    await expect(h.promise).resolves.toEqual({ id: 'a1' });
    expect(made).toHaveLength(1);
    expect(made[0]!.method).toBe('POST');
    expect(made[0]!.url).toMatch(/\/api\/worklogs\/e1\/attachments$/);
    expect(made[0]!.headers.Authorization).toBe('Bearer tok-1');
    expect((made[0]!.sent!.get('file') as File).name).toBe('note.txt');
    expect(progress).toEqual([0, 0.5, 1]);
  });

  it('on 401 refreshes once and retries with the new token', async () => {
    const { made, createXhr } = fakeXhrs([{ status: 401, body: unauthorized }, { status: 201, body: { id: 'a2' } }]);
    let token = 'old';
    const refresh = vi.fn(async () => {
      token = 'new';
      return true;
    });
    const h = uploadFile('/worklogs/e1/attachments', file(), { deps: { getToken: () => token, refresh, createXhr } });
    await expect(h.promise).resolves.toEqual({ id: 'a2' });
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(made.map((x) => x.headers.Authorization)).toEqual(['Bearer old', 'Bearer new']);
  });

  it('does not retry when the refresh fails, and gives up after a second 401', async () => {
    const a = fakeXhrs([{ status: 401, body: unauthorized }]);
    const h1 = uploadFile('/x', file(), { deps: { getToken: () => 't', refresh: async () => false, createXhr: a.createXhr } });
    await expect(h1.promise).rejects.toMatchObject({ info: { code: 'token_expired', status: 401 } });
    expect(a.made).toHaveLength(1);

    const b = fakeXhrs([{ status: 401, body: unauthorized }, { status: 401, body: unauthorized }, { status: 201 }]);
    const refresh = vi.fn(async () => true);
    const h2 = uploadFile('/x', file(), { deps: { getToken: () => 't', refresh, createXhr: b.createXhr } });
    await expect(h2.promise).rejects.toBeInstanceOf(ApiRequestError);
    expect(b.made).toHaveLength(2);
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it('turns 413 / 415 and network failures into API errors', async () => {
    const big = fakeXhrs([{ status: 413, body: { error: { code: 'payload_too_large', message: 'too big', correlation_id: 'c' } } }]);
    await expect(uploadFile('/x', file(), { deps: { getToken: () => 't', refresh: vi.fn(), createXhr: big.createXhr } }).promise).rejects.toMatchObject({
      info: { code: 'payload_too_large' },
    });
    const type = fakeXhrs([{ status: 415 }]);
    await expect(uploadFile('/x', file(), { deps: { getToken: () => 't', refresh: vi.fn(), createXhr: type.createXhr } }).promise).rejects.toMatchObject({
      info: { code: 'unsupported_media_type' },
    });
    const net = fakeXhrs([{ status: 0, network: true }]);
    await expect(uploadFile('/x', file(), { deps: { getToken: () => 't', refresh: vi.fn(), createXhr: net.createXhr } }).promise).rejects.toMatchObject({
      info: { code: 'network' },
    });
  });

  it('can be aborted', async () => {
    const { createXhr } = fakeXhrs([{ status: 201 }]);
    const h = uploadFile('/x', file(), { deps: { getToken: () => 't', refresh: vi.fn(), createXhr } });
    h.abort();
    await expect(h.promise).rejects.toBeInstanceOf(UploadAborted);
  });
});

describe('formatBytes', () => {
  it('is human', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(25 * 1024 * 1024)).toBe('25 MB');
  });
});
