import { DomainError } from '@wms/events';

/** Deeper JSON is refused before anything walks it (class-transformer recurses and would overflow the stack). */
export const MAX_JSON_DEPTH = 32;

// A lone UTF-16 surrogate cannot be stored (Postgres text is UTF-8) nor sent on; NUL neither.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const isBadText = (s: string) => s.includes('\u0000') || LONE_SURROGATE.test(s);

/** The deepest nesting of objects and arrays in a JSON text, without parsing it (strings are skipped). */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) deepest = Math.max(deepest, ++depth);
    else if (c === 125 || c === 93) depth--;
  }
  return deepest;
}

export const tooDeep = () =>
  new DomainError('REQUEST.TOO_DEEP', `the JSON body is nested deeper than ${MAX_JSON_DEPTH} levels`, 'invalid', [
    { field: 'body', reason: `is nested deeper than ${MAX_JSON_DEPTH} levels` },
  ]);

/** The path of the first string (or key) in `value` holding NUL or a lone surrogate, or null. */
export function badTextAt(value: unknown, path: string, depth = 0): string | null {
  if (typeof value === 'string') return isBadText(value) ? path : null;
  if (value === null || typeof value !== 'object' || depth > MAX_JSON_DEPTH) return null;
  for (const [key, inner] of Object.entries(value)) {
    const at = Array.isArray(value) ? `${path}.${key}` : path ? `${path}.${key}` : key;
    if (isBadText(key)) return at;
    const found = badTextAt(inner, at, depth + 1);
    if (found) return found;
  }
  return null;
}

/** The headers the api reads; any other header is passed over untouched. */
const READ_HEADERS = ['authorization', 'idempotency-key', 'x-correlation-id', 'cookie'];

/**
 * Every string of a request — body, query, path, the headers the api reads — checked in one place:
 * NUL or a lone surrogate is refused with 400 naming the field, before any handler or validator sees it.
 */
export function refuseBadText(
  req: {
    body?: unknown;
    query?: unknown;
    params?: unknown;
    headers: Record<string, unknown>;
  },
  /** A body field whose items the handler checks one by one (POST /events/batch's `items`). */
  perItem?: string,
): void {
  const body =
    perItem && req.body !== null && typeof req.body === 'object' && !Array.isArray(req.body)
      ? Object.fromEntries(Object.entries(req.body).filter(([key]) => key !== perItem))
      : req.body;
  const field =
    badTextAt(req.params, '') ??
    badTextAt(req.query, '') ??
    READ_HEADERS.map((h) => (badTextAt(req.headers[h], h) ? h : null)).find(Boolean) ??
    badTextAt(body, '');
  if (field === null || field === undefined) return;
  throw new DomainError(
    'REQUEST.INVALID_TEXT',
    `${field || 'body'} holds a NUL character or a lone UTF-16 surrogate`,
    'invalid',
    [{ field: field || 'body', reason: 'holds a NUL character or a lone UTF-16 surrogate' }],
  );
}
