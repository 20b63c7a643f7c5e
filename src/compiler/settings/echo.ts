/** Longest echo of an operator's value in a message: a 2 MB value is named by its start and length, never whole. */
export const MAX_ECHO = 40;

/** `value`, or its first MAX_ECHO characters and its length. */
export function bounded(value: string): string {
  return value.length <= MAX_ECHO ? value : `${value.slice(0, MAX_ECHO)}… (${value.length} chars)`;
}
