import { describe, expect, it } from 'vitest';
import { readSse, SseParser } from '@/composables/sse';

describe('SseParser', () => {
  it('parses events split across chunks, CRLF and multi-line data', () => {
    const p = new SseParser();
    expect(p.push('data: {"a"')).toEqual([]);
    expect(p.push(':1}\n\n')).toEqual([{ event: 'message', data: '{"a":1}' }]);
    expect(p.push('event: job\r\nid: 7\r\ndata: line1\r\ndata:line2\r')).toEqual([]);
    expect(p.push('\n\r\n')).toEqual([{ event: 'job', id: '7', data: 'line1\nline2' }]);
  });

  it('ignores comments, unknown fields and events without data', () => {
    const p = new SseParser();
    expect(p.push(': keep-alive\n\nevent: x\n\nfoo: bar\ndata: y\nretry: 500\n\n')).toEqual([
      { event: 'message', data: 'y', retry: 500 },
    ]);
  });

  it('handles CR-only line endings and a field without a colon', () => {
    const p = new SseParser();
    // A trailing CR is held back: it may be the first half of CRLF.
    expect(p.push('data\rdata: z\r\r')).toEqual([]);
    expect(p.push('data: next')).toEqual([{ event: 'message', data: '\nz' }]);
  });
});

describe('readSse', () => {
  it('reads a byte stream, splitting UTF-8 sequences safely', async () => {
    const bytes = new TextEncoder().encode('data: héllo\n\ndata: {"status":"succeeded"}\n\ndata: unterminated');
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 3) c.enqueue(bytes.slice(i, i + 3));
        c.close();
      },
    });
    const out: string[] = [];
    for await (const ev of readSse(stream)) out.push(ev.data);
    expect(out).toEqual(['héllo', '{"status":"succeeded"}']);
  });
});
