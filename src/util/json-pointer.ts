// RFC 6901 JSON Pointers, for picking params out of a webhook body.

/** Thrown for a pointer that is not valid RFC 6901 syntax. */
export class JsonPointerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonPointerError';
  }
}

/** Parses a pointer into its reference tokens; "" (the whole document) gives []. */
export function parseJsonPointer(pointer: string): string[] {
  if (typeof pointer !== 'string') throw new JsonPointerError('a JSON pointer must be a string');
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) {
    throw new JsonPointerError(`invalid JSON pointer ${JSON.stringify(pointer.slice(0, 200))}: it must be empty or start with "/", for example "/export/id"`);
  }
  return pointer
    .slice(1)
    .split('/')
    .map((token) => {
      if (/~(?![01])/.test(token)) {
        throw new JsonPointerError(`invalid JSON pointer ${JSON.stringify(pointer.slice(0, 200))}: "~" must be followed by 0 (for "~") or 1 (for "/")`);
      }
      // ~1 first, then ~0, so that "~01" becomes "~1" and not "/" (RFC 6901 section 4).
      return token.replaceAll('~1', '/').replaceAll('~0', '~');
    });
}

/** Formats reference tokens as a pointer; the inverse of parseJsonPointer. */
export function formatJsonPointer(tokens: readonly string[]): string {
  return tokens.map((t) => '/' + t.replaceAll('~', '~0').replaceAll('/', '~1')).join('');
}

const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;

/**
 * Resolves tokens against a parsed JSON document. Only own properties count (no "constructor" or
 * "__proto__" from the prototype); an array index is digits without leading zeros, and "-" (the
 * element after the last) is never found.
 */
export function resolveJsonPointer(doc: unknown, tokens: readonly string[]): { found: boolean; value?: unknown } {
  let current: unknown = doc;
  for (const token of tokens) {
    if (Array.isArray(current)) {
      if (!ARRAY_INDEX.test(token)) return { found: false };
      const index = Number(token);
      if (index >= current.length) return { found: false };
      current = current[index];
    } else if (typeof current === 'object' && current !== null) {
      if (!Object.hasOwn(current, token)) return { found: false };
      current = (current as Record<string, unknown>)[token];
    } else {
      return { found: false };
    }
  }
  return { found: true, value: current };
}
