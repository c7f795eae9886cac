import { describe, expect, it } from 'vitest';
import { ApiRequestError, apiError, ERROR_MESSAGES, unwrap } from '@/api/errors';
import spec from '../../../openapi/openapi.json';

describe('ERROR_MESSAGES', () => {
  it('covers every ErrorCode of the spec', () => {
    const codes = (spec as { components: { schemas: { ErrorCode: { enum: string[] } } } }).components.schemas.ErrorCode.enum;
    expect(Object.keys(ERROR_MESSAGES).sort()).toEqual([...codes].sort());
  });
});

describe('apiError', () => {
  it('maps an ErrorBody to a human message with field issues', () => {
    const e = apiError(
      {
        error: {
          code: 'validation_failed',
          message: 'content: too long',
          correlation_id: 'c1',
          details: [
            { field: 'content', code: 'content_too_long', message: 'Too long.' },
            { field: 'content', code: 'other', message: 'Second.' },
            { field: 'tags', code: 'bad_tag', message: 'Bad tag.' },
          ],
        },
      },
      400,
    );
    expect(e).toEqual({
      code: 'validation_failed',
      message: ERROR_MESSAGES.validation_failed,
      detail: 'content: too long',
      fieldIssues: { content: 'Too long.', tags: 'Bad tag.' },
      correlationId: 'c1',
      status: 400,
    });
  });

  it('keeps the server message for an unknown code', () => {
    const e = apiError({ error: { code: 'brand_new', message: 'Brand new thing', correlation_id: 'c' } });
    expect(e.code).toBe('unknown');
    expect(e.message).toBe('Brand new thing');
  });

  it('handles network failures', () => {
    expect(apiError(new TypeError('Failed to fetch')).code).toBe('network');
  });

  it('falls back on the HTTP status', () => {
    expect(apiError('Bad Gateway', 502).code).toBe('internal');
    expect(apiError(undefined, 404).message).toBe(ERROR_MESSAGES.not_found);
  });

  it('passes ApiRequestError through', () => {
    const info = apiError({ error: { code: 'forbidden', message: 'no', correlation_id: 'c' } }, 403);
    expect(apiError(new ApiRequestError(info))).toBe(info);
  });
});

describe('unwrap', () => {
  it('returns data on success and throws ApiRequestError otherwise', () => {
    const ok = new Response(null, { status: 200 });
    expect(unwrap({ data: { a: 1 }, response: ok })).toEqual({ a: 1 });
    const bad = new Response(null, { status: 401 });
    expect(() =>
      unwrap({ error: { error: { code: 'invalid_credentials', message: 'x', correlation_id: 'c' } }, response: bad }),
    ).toThrowError(ApiRequestError);
    try {
      unwrap({ error: { error: { code: 'invalid_credentials', message: 'x', correlation_id: 'c' } }, response: bad });
    } catch (e) {
      expect(apiError(e).message).toBe(ERROR_MESSAGES.invalid_credentials);
    }
  });
});
