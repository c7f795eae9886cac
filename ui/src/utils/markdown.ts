import DOMPurify from 'dompurify';
import { marked } from 'marked';

/** Markdown -> sanitised HTML. No `style` attributes survive (the CSP forbids them anyway). */
export function renderMarkdown(source: string): string {
  const raw = marked.parse(source, { async: false, gfm: true, breaks: false });
  return DOMPurify.sanitize(raw, { FORBID_ATTR: ['style'], FORBID_TAGS: ['style'] });
}
