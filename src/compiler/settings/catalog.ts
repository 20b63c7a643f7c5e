import * as z from 'zod';

/**
 * The shape of one setting as exported by schema/config.cue. zod checks the CUE output at this boundary, so a schema
 * edit that the validator does not understand fails loudly instead of being half-applied.
 */
const base = {
  doc: z.string(),
  readBy: z.array(z.string()),
  plan: z.boolean(),
  source: z.enum(['env', 'configmap']),
};

export const SettingSchema = z.discriminatedUnion('kind', [
  z.object({ ...base, kind: z.literal('bool'), default: z.boolean() }),
  z.object({
    ...base,
    kind: z.literal('int'),
    default: z.number().int(),
    min: z.number().int(),
    max: z.number().int(),
    unit: z.string(),
    sentinel: z.number().int().optional(),
  }),
  z.object({ ...base, kind: z.literal('mark'), default: z.number().int() }),
  z.object({
    ...base,
    kind: z.literal('enum'),
    values: z.array(z.string()).min(1),
    default: z.string(),
    caseInsensitive: z.boolean(),
  }),
  z.object({
    ...base,
    kind: z.literal('string'),
    default: z.string(),
    nonEmpty: z.boolean(),
    maxLength: z.number().int(),
    forbidden: z.array(z.string()),
    format: z.enum(['text', 'path', 'url', 'hostport', 'log-destination', 'ifname-prefix']),
  }),
  z.object({ ...base, kind: z.literal('cidrs'), default: z.array(z.string()) }),
  z.object({
    ...base,
    kind: z.literal('tags'),
    default: z.record(z.string(), z.string()),
    reservedKeySubstring: z.string(),
  }),
  z.object({ ...base, kind: z.literal('noop'), default: z.literal(''), since: z.string() }),
]);

export type Setting = z.infer<typeof SettingSchema>;
export type Catalog = Readonly<Record<string, Setting>>;

export function parseCatalog(exported: unknown): Catalog {
  return z.record(z.string(), SettingSchema).parse(exported);
}
