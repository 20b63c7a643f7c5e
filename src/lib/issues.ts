/**
 * zod issues as sentences for an operator: `enis[1].deviceNumber = 4294967295: must be at most 99`. The path is
 * written as in the file, the offending value is echoed short (a hostile file can hold megabytes in one field), and
 * zod's own wording (`✖ Invalid input: expected string, received undefined → at instanceId`) never reaches a message.
 */
import type * as z from 'zod';

/** Longest echo of a value from an untrusted file; longer values are cut and their length given. */
export const MAX_SHOWN = 64;
/** Issues named per error: enough to fix a file in one go, never a wall of text from a hostile one. */
export const MAX_ISSUES = 5;

/** `['enis', 1, 'mac']` → `enis[1].mac`; the empty path is the whole document. */
export function issuePath(path: readonly PropertyKey[]): string {
  const text = path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${shownKey(String(p))}`))
    .join('')
    .replace(/^\./, '');
  return text === '' ? '(document)' : text;
}

function shownKey(key: string): string {
  return /^[\w-]{1,64}$/.test(key) ? key : shownValue(key);
}

/** A value as JSON, at most MAX_SHOWN characters: `"010.010.040.005"`, `4294967295`, `"aaaa…" (2097152 chars)`. */
export function shownValue(value: unknown): string {
  if (value === undefined) return 'missing';
  if (typeof value === 'bigint') return String(value);
  let json: string;
  try {
    json = JSON.stringify(value) ?? String(value);
  } catch {
    json = String(value);
  }
  return json.length <= MAX_SHOWN ? json : `${json.slice(0, MAX_SHOWN)}… (${json.length} chars)`;
}

const TYPES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
  bigint: 'an integer',
};

function bound(issue: { readonly origin?: string }, limit: unknown, more: boolean, inclusive: boolean): string {
  const n = String(limit);
  const relation = more ? (inclusive ? 'at least' : 'more than') : inclusive ? 'at most' : 'less than';
  if (issue.origin === 'string') return `must be ${relation} ${n} characters long`;
  if (issue.origin === 'array' || issue.origin === 'set') return `must hold ${relation} ${n} items`;
  return `must be ${relation} ${n}`;
}

/**
 * The parse-level error map: pass it as `schema.safeParse(value, { error: plainMessages })`. Messages a schema sets
 * itself (regexes, refinements) take precedence; this one words zod's built-in checks as "must be …".
 */
export const plainMessages: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'is required' : `must be ${TYPES[issue.expected] ?? issue.expected}`;
    case 'too_small':
      return bound(issue, issue.minimum, true, issue.inclusive ?? true);
    case 'too_big':
      return bound(issue, issue.maximum, false, issue.inclusive ?? true);
    case 'invalid_value':
      return `must be ${issue.values.map((v) => shownValue(v)).join(' or ')}`;
    case 'unrecognized_keys':
      return `has unknown field${issue.keys.length === 1 ? '' : 's'} ${issue.keys.slice(0, 3).map(shownValue).join(', ')}`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    case 'invalid_format':
      return `must be ${issue.format === 'regex' ? 'in the expected format' : `a valid ${issue.format}`}`;
    default:
      return 'is not valid here';
  }
};

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/**
 * One sentence per issue (at most MAX_ISSUES, then a count of the rest): the field, its value as found in `input`
 * (a scalar; objects and lists are named by path only), what is wrong. Messages are written without the value.
 */
export function describeIssues(error: z.ZodError, input: unknown): string[] {
  const lines = error.issues.slice(0, MAX_ISSUES).map((issue) => {
    const where = issuePath(issue.path);
    const message = issue.message.length > 200 ? `${issue.message.slice(0, 200)}…` : issue.message;
    const value = valueAt(input, issue.path);
    if (value === undefined) return `${where} ${message}`;
    // An object or list is named by its path alone: echoing it would say nothing and take a line.
    return typeof value === 'object' && value !== null
      ? `${where}: ${message}`
      : `${where} = ${shownValue(value)}: ${message}`;
  });
  const rest = error.issues.length - MAX_ISSUES;
  return rest > 0 ? [...lines, `and ${rest} more`] : lines;
}
