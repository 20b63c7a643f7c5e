/** `1 error`, `2 errors`, `0 warnings`; `plural` for nouns that do not take an s (`1 policy`, `2 policies`). */
export function counted(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}
