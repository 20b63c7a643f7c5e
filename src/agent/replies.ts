/**
 * The introspection replies the operator commands read (`/v1/status`, `/v1/explain`, `/v1/doctor`), as schemas: the
 * agent's handlers are typed by them and the commands parse with them, so a reply the command cannot read is an error
 * that names the field, not a crash in the middle of printing. Strings and lists are bounded as the agent bounds them.
 */
import * as z from 'zod';

const text = z.string().max(4_096);
const when = z.string().max(40).nullable();
const lines = z.array(text).max(1_024).readonly();

const EniFigures = z.object({
  eni: z.string().max(64),
  deviceNumber: z.number().int(),
  primary: z.boolean(),
  total: z.number().int(),
  assigned: z.number().int(),
  cooling: z.number().int(),
  quarantined: z.number().int(),
  free: z.number().int(),
  prefixes: z.number().int(),
});

export const StatusReply = z.object({
  node: z.object({ name: z.string().max(256), instanceId: z.string().max(64), instanceType: z.string().max(64) }),
  ready: z.boolean(),
  reason: text,
  startedAt: when,
  timeToReadyMs: z.number().nullable(),
  pool: z.object({
    enis: z.array(EniFigures).max(128).readonly(),
    total: z.number().int(),
    assigned: z.number().int(),
    cooling: z.number().int(),
    quarantined: z.number().int(),
    free: z.number().int(),
    prefixes: z.number().int(),
    waitingPods: z.number().int(),
  }),
  loops: z
    .array(
      z.object({
        name: z.string().max(64),
        periodMs: z.number(),
        runs: z.number().int(),
        failures: z.number().int(),
        consecutiveFailures: z.number().int(),
        lastOkAt: when,
        lastError: text.nullable(),
        nextAt: when,
      }),
    )
    .max(64)
    .readonly(),
  pendingRecycle: z.array(z.string().max(128)).max(256).readonly(),
  lastSync: z
    .object({
      changes: z.number().int(),
      enis: z.array(z.string().max(64)).max(128).readonly(),
      pendingEnis: z.array(z.string().max(64)).max(128).readonly(),
    })
    .nullable(),
  recentRepairs: z
    .array(z.object({ at: when, restored: lines }))
    .max(64)
    .readonly(),
});
export type StatusReply = z.infer<typeof StatusReply>;

export const PodInterface = z.object({
  ip: z.string().max(64),
  eniId: z.string().max(64),
  deviceNumber: z.number().int(),
  routeTable: z.union([z.number().int(), z.literal('main')]),
  hostVeth: z.string().max(16),
  containerId: z.string().max(256),
  ifName: z.string().max(16),
  assignedAt: z.string().max(40),
  planned: lines,
  snat: lines,
  kernelMatches: z.boolean(),
  differences: lines,
});
export type PodInterface = z.infer<typeof PodInterface>;

export const ExplainReply = z.object({
  namespace: z.string().max(63),
  name: z.string().max(253),
  interfaces: z.array(PodInterface).max(16).readonly(),
});
export type ExplainReply = z.infer<typeof ExplainReply>;

export const CheckName = z.enum([
  'rp_filter',
  'mtu',
  'iptables-backend',
  'imds-vs-ec2',
  'subnet-headroom',
  'max-pods',
  'leaked-enis',
]);
export type CheckName = z.infer<typeof CheckName>;

export const Finding = z.object({
  check: CheckName,
  severity: z.enum(['error', 'warning']),
  problem: text,
  fix: text,
});
export type Finding = z.infer<typeof Finding>;

export const DoctorReply = z.object({
  findings: z.array(Finding).max(256).readonly(),
  checks: z
    .array(z.object({ check: CheckName, status: z.enum(['ok', 'findings', 'skipped']), detail: text }))
    .max(64)
    .readonly(),
});
export type DoctorReply = z.infer<typeof DoctorReply>;

/** What the agent answers instead when it cannot (404 for an unknown pod, 400 for a bad request, 500). */
export const ErrorReply = z.object({ error: text });
