// Reading headers the way every verifier needs: first value of a repeated header, and a check
// for a signature header repeated with different values (an ambiguous, probably forged request).
import type { RequestHeaders } from './signature-verifier.ts';

/** The header's value (the first one when repeated), or undefined when absent or empty. */
export function readHeader(headers: RequestHeaders, name: string): string | undefined {
  if (!Object.hasOwn(headers, name)) return undefined;
  const raw = headers[name];
  const value = typeof raw === 'string' ? raw : raw?.[0];
  return value === undefined || value === '' ? undefined : value;
}

/** True when the header is repeated with values that differ. */
export function hasConflictingValues(headers: RequestHeaders, name: string): boolean {
  if (!Object.hasOwn(headers, name)) return false;
  const raw = headers[name];
  return Array.isArray(raw) && raw.some((v) => v !== raw[0]);
}
