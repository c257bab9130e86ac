// Object names as label values: a name may be up to 253 characters, a label value only 63.

/** A name as a label value: its first 63 characters, without a trailing separator. */
export function labelValueOf(name: string): string {
  return name.slice(0, 63).replace(/[-_.]+$/, '');
}
