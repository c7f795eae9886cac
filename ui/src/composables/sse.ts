// A small Server-Sent Events parser (https://html.spec.whatwg.org/#event-stream-interpretation)
// for fetch() bodies: EventSource can't send an Authorization header.

export interface SseEvent {
  /** `event:` field, default "message". */
  event: string;
  /** `data:` lines joined with "\n". */
  data: string;
  /** `id:` field, if any. */
  id?: string;
  /** `retry:` field, if any (ms). */
  retry?: number;
}

/** Incremental parser: feed text chunks, get the complete events they finish. */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private id: string | undefined;
  private retry: number | undefined;
  private hasData = false;

  push(chunk: string): SseEvent[] {
    this.buffer += chunk;
    const out: SseEvent[] = [];
    // Lines end with \r\n, \n or \r. Keep a trailing \r: it may be the first half of \r\n.
    const re = /\r\n|\n|\r(?!$)/g;
    let start = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(this.buffer)) !== null) {
      const line = this.buffer.slice(start, m.index);
      start = m.index + m[0].length;
      const ev = this.line(line);
      if (ev) out.push(ev);
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  /** End of stream: an unterminated event is dropped, as the spec says. */
  end(): SseEvent[] {
    this.buffer = '';
    this.reset();
    return [];
  }

  private reset(): void {
    this.data = [];
    this.event = '';
    this.hasData = false;
  }

  private line(line: string): SseEvent | null {
    if (line === '') {
      if (!this.hasData) {
        this.reset();
        return null;
      }
      const ev: SseEvent = { event: this.event || 'message', data: this.data.join('\n') };
      if (this.id !== undefined) ev.id = this.id;
      if (this.retry !== undefined) ev.retry = this.retry;
      this.reset();
      return ev;
    }
    if (line.startsWith(':')) return null; // comment / keep-alive
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data.push(value);
        this.hasData = true;
        break;
      case 'event':
        this.event = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.id = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
      default:
        break; // unknown fields are ignored
    }
    return null;
  }
}

/** Read a `text/event-stream` body as an async sequence of events. */
export async function* readSse(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  try {
    while (!signal?.aborted) {
      const { value, done } = await reader.read();
      if (done) break;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
    yield* parser.push(decoder.decode());
    parser.end();
  } finally {
    reader.releaseLock();
  }
}
