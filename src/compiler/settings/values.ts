import * as z from 'zod';
import { isIpv6Cidr, normaliseIpv4Cidr } from '../../lib/address.ts';
import type { Setting } from './catalog.ts';
import { bounded } from './echo.ts';

/** What Go's strconv.ParseBool accepts, and nothing else: the reference's parser, so existing manifests keep meaning. */
export const TRUE_STRINGS = ['1', 't', 'T', 'TRUE', 'true', 'True'] as const;
export const FALSE_STRINGS = ['0', 'f', 'F', 'FALSE', 'false', 'False'] as const;

const MAX_UINT32 = 0xffffffff;

/**
 * A prefix of Linux interface names that every tool quotes the same way: the kernel refuses `/`, whitespace and
 * `:`-less oddities only partly, and the name also lands unquoted in iptables (`-i eni+`) and quoted in nft, so only
 * letters, digits, `_`, `.` and a non-leading `-` are let through (maxLength in the schema leaves room for the
 * 11 hex characters the plugin appends within the kernel's 15).
 */
const IFNAME_PREFIX = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** EC2's tag limits (CreateTags): 50 tags per resource, keys ≤ 128 and values ≤ 256 characters, `aws:` reserved. */
export const EC2_TAGS = { maxTags: 50, maxKey: 128, maxValue: 256, reservedPrefix: 'aws:' } as const;

function tagProblems(tags: Readonly<Record<string, string>>): string[] {
  const problems: string[] = [];
  const keys = Object.keys(tags);
  if (keys.length > EC2_TAGS.maxTags) problems.push(`${keys.length} tags, EC2 allows at most ${EC2_TAGS.maxTags}`);
  for (const key of keys) {
    const name = JSON.stringify(bounded(key));
    if (key.length === 0) problems.push('an empty tag key');
    if (key.length > EC2_TAGS.maxKey) problems.push(`tag key ${name} is longer than ${EC2_TAGS.maxKey} characters`);
    if (key.toLowerCase().startsWith(EC2_TAGS.reservedPrefix))
      problems.push(`tag key ${name} uses the prefix aws:, reserved by AWS`);
    if (tags[key]!.length > EC2_TAGS.maxValue)
      problems.push(`the value of tag ${name} is longer than ${EC2_TAGS.maxValue} characters`);
    if (problems.length >= 5) break;
  }
  return problems;
}

/** The human description of what a setting accepts; every error message ends with it. */
export function allowedText(setting: Setting): string {
  switch (setting.kind) {
    case 'bool':
      return `a boolean (${[...TRUE_STRINGS, ...FALSE_STRINGS].join(', ')})`;
    case 'int': {
      const unit = setting.unit ? ` ${setting.unit}` : '';
      const range =
        setting.max >= 2147483647
          ? `an integer ≥ ${setting.min}${unit}`
          : `an integer in ${setting.min}–${setting.max}${unit}`;
      return setting.sentinel === undefined ? range : `${range}, or ${setting.sentinel} (not set)`;
    }
    case 'mark':
      return 'an integer in 1–0xFFFFFFFF (decimal, 0x hex, 0o octal or 0b binary)';
    case 'enum':
      return `one of ${setting.values.join(', ')}${setting.caseInsensitive ? ' (any case)' : ''}`;
    case 'string': {
      const parts = [setting.nonEmpty ? 'a non-empty string' : 'a string'];
      if (setting.maxLength > 0) parts.push(`of at most ${setting.maxLength} characters`);
      if (setting.forbidden.length > 0) parts.push(`other than ${setting.forbidden.map((f) => `"${f}"`).join(', ')}`);
      if (setting.format === 'url') parts.push('holding an http(s) URL');
      if (setting.format === 'hostport') parts.push('of the form host:port or unix:<path>');
      if (setting.format === 'ifname-prefix') parts.push('of letters, digits, _, . and - (not first)');
      return parts.join(' ');
    }
    case 'cidrs':
      return 'a comma-separated list of IPv4 CIDRs such as 10.0.0.0/16,192.168.0.0/24';
    case 'tags':
      return `a JSON object of at most ${EC2_TAGS.maxTags} string values, keys ≤ ${EC2_TAGS.maxKey} and values ≤ ${EC2_TAGS.maxValue} characters, no aws: keys, e.g. {"team":"net"}`;
    case 'noop':
      return 'nothing (deprecated no-op)';
  }
}

/** Go's strconv.ParseUint(s, 0, 32) prefixes. */
function parseMark(text: string): number | undefined {
  const match = /^(0x[0-9a-f]+|0o?[0-7]+|0b[01]+|[1-9]\d*|0)$/i.exec(text);
  if (!match) return undefined;
  const lower = text.toLowerCase();
  if (lower.startsWith('0x')) return Number.parseInt(lower.slice(2), 16);
  if (lower.startsWith('0b')) return Number.parseInt(lower.slice(2), 2);
  if (lower.startsWith('0o')) return Number.parseInt(lower.slice(2), 8);
  if (lower.length > 1 && lower.startsWith('0')) return Number.parseInt(lower.slice(1), 8);
  return Number(lower);
}

/**
 * The zod schema that turns one raw string into the setting's typed value. Refinement messages give the specific
 * reason (e.g. "longer than 4 characters"); the caller adds key, value, source and `allowedText`.
 */
export function valueSchema(setting: Setting): z.ZodType<unknown, string> {
  switch (setting.kind) {
    case 'bool':
      return z
        .enum([...TRUE_STRINGS, ...FALSE_STRINGS])
        .transform((v) => (TRUE_STRINGS as readonly string[]).includes(v));
    case 'int':
      return z
        .string()
        .regex(/^[+-]?\d+$/, 'not an integer')
        .transform(Number)
        .superRefine((n, ctx) => {
          if ((n >= setting.min && n <= setting.max) || n === setting.sentinel) return;
          const message = n < setting.min ? `below ${setting.min}` : n > setting.max ? `above ${setting.max}` : '';
          ctx.addIssue({ code: 'custom', message: message || 'out of range' });
        });
    case 'mark':
      return z
        .string()
        .transform((s) => parseMark(s) ?? Number.NaN)
        .refine((n) => Number.isInteger(n), 'not an integer')
        .refine((n) => n >= 1 && n <= MAX_UINT32, 'out of range');
    case 'enum': {
      const canonical = (s: string) => (setting.caseInsensitive ? s.toLowerCase() : s);
      return z
        .string()
        .transform(canonical)
        .refine((s) => setting.values.includes(s), 'not one of the allowed values');
    }
    case 'string':
      return z
        .string()
        .refine((s) => !setting.nonEmpty || s.length > 0, 'empty')
        .refine(
          (s) => setting.maxLength === 0 || s.length <= setting.maxLength,
          `longer than ${setting.maxLength} characters`,
        )
        .refine((s) => !setting.forbidden.includes(s), 'reserved')
        .refine((s) => setting.format !== 'url' || s === '' || URL.canParse(s), 'not a URL')
        .refine((s) => setting.format !== 'hostport' || /^(unix:.+|[^:\s]*:\d{1,5})$/.test(s), 'not host:port')
        .refine(
          (s) => setting.format !== 'ifname-prefix' || IFNAME_PREFIX.test(s),
          'not usable in an interface name (only letters, digits, _, . and a non-leading -)',
        );
    case 'cidrs':
      return z
        .string()
        .transform((s) =>
          s
            .split(',')
            .map((item) => item.trim())
            .filter((item) => item !== ''),
        )
        .superRefine((items, ctx) => {
          let reported = 0;
          for (const item of items) {
            if (normaliseIpv4Cidr(item) !== undefined) continue;
            const message = isIpv6Cidr(item) ? 'is an IPv6 CIDR (only IPv4 is allowed here)' : 'is not a valid CIDR';
            ctx.addIssue({ code: 'custom', message: `${bounded(item)} ${message}` });
            if (++reported === 5) break;
          }
        })
        .transform((items) => items.map((item) => normaliseIpv4Cidr(item) ?? item));
    case 'tags':
      return z
        .string()
        .transform((s, ctx) => {
          try {
            return JSON.parse(s === '' ? '{}' : s) as unknown;
          } catch {
            ctx.addIssue({ code: 'custom', message: 'not valid JSON' });
            return z.NEVER;
          }
        })
        .pipe(z.record(z.string(), z.string(), { error: 'not a JSON object of strings' }))
        .superRefine((tags, ctx) => {
          for (const message of tagProblems(tags)) ctx.addIssue({ code: 'custom', message });
        });
    case 'noop':
      return z.string();
  }
}
