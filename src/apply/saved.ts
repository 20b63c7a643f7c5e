import * as z from 'zod';
import type { HostPlan } from '../compiler/plan.ts';
import {
  isCidr,
  isInterfaceName,
  isIpAddress,
  isIptablesChain,
  isIptablesToken,
  isMac,
  isMark,
  isMtu,
  isNftIdentifier,
  isNftPriority,
  isNftRule,
  isProtocolName,
  isRouteTable,
  isRulePriority,
  isSysctlPath,
  isSysctlValue,
  NFT_HOOKS,
} from '../compiler/render/index.ts';
import { describeIssues, plainMessages } from '../lib/issues.ts';
import type { ChangeSet } from './diff.ts';

/**
 * A plan saved by `vpc-cni plan --out FILE` for `vpc-cni apply FILE`: the plan plus the changes it was shown with.
 * The file is untrusted input: it is parsed in full by the schema below (size-bounded, every value by its type's
 * grammar, the same predicates the renderers enforce), and its `changes` are only preconditions: `apply` re-derives
 * the changes from the plan and the live state and refuses unless they are exactly the saved ones.
 */

export const SAVED_PLAN_FORMAT = 'vpc-cni-saved-plan';
/** A real plan is a few hundred kB at most (thousands of pods); anything larger is refused unread. */
export const MAX_SAVED_PLAN_BYTES = 16 * 1024 * 1024;
const MAX_OBJECTS = 100_000;

export interface SavedPlan {
  readonly format: typeof SAVED_PLAN_FORMAT;
  readonly version: 1;
  /** The namespace the plan was made against (`--netns`), so `apply FILE` targets the same one. */
  readonly netns?: string;
  readonly plan: HostPlan;
  readonly changes: ChangeSet;
}

const text = (max = 256) => z.string().max(max);
const valid = <T extends string | number>(base: z.ZodType<T>, check: (v: T) => boolean, what: string) =>
  base.refine(check, { message: `not a valid ${what}` });
const dev = valid(text(15), isInterfaceName, 'interface name');
const cidr = valid(text(64), isCidr, 'address/prefix');
const address = valid(text(64), isIpAddress, 'IP address');
const family = z.enum(['inet', 'inet6']);
const because = text(256);
const list = <T extends z.ZodType>(item: T) => z.array(item).max(MAX_OBJECTS);
const table = valid(z.number(), isRouteTable, 'route table');
const chain = valid(text(28), isIptablesChain, 'iptables chain name');
const iptablesTable = z.enum(['nat', 'mangle', 'filter']);

const ruleFields = {
  family,
  priority: valid(z.number(), isRulePriority, 'rule priority'),
  table,
  from: cidr.optional(),
  to: cidr.optional(),
  fwmark: z
    .strictObject({ mark: valid(z.number(), isMark, 'mark'), mask: valid(z.number(), isMark, 'mask') })
    .optional(),
  iif: dev.optional(),
  ipproto: valid(text(32), isProtocolName, 'protocol').optional(),
  because,
};
const rule = z.strictObject({ kind: z.literal('rule'), ...ruleFields });
const absentRule = z.strictObject({ kind: z.literal('absent-rule'), ...ruleFields });
const route = z.strictObject({
  kind: z.literal('route'),
  family,
  table,
  dst: cidr,
  dev,
  via: address.optional(),
  scope: z.enum(['link', 'global']),
  src: address.optional(),
  because,
});
const absentRoute = z.strictObject({ kind: z.literal('absent-route'), family, table, dst: cidr, dev, because });
/**
 * What the kernel adds to a route or rule read live (LiveRoute, LiveRule): a change that deletes or replaces one
 * carries it, so a saved plan must hold it too. `extra` is only ever compared and shown, never rendered.
 */
const extra = valid(text(512), (e) => /^[\x20-\x7e]+$/.test(e), 'live attribute list').optional();
const liveRoute = route.extend({ protocol: valid(text(32), isProtocolName, 'route protocol').optional(), extra });
const liveRule = rule.extend({ extra });
const addr = z.strictObject({ kind: z.literal('address'), dev, cidr, because });
const link = z.strictObject({
  kind: z.literal('link'),
  name: dev,
  mac: valid(text(17), isMac, 'MAC address'),
  mtu: valid(z.number(), isMtu, 'MTU'),
  up: z.boolean(),
  because,
});
const sysctl = z.strictObject({
  kind: z.literal('sysctl'),
  path: valid(text(64), isSysctlPath, 'sysctl key (only the keys vpc-cni writes)'),
  value: valid(text(11), isSysctlValue, 'sysctl value'),
  because,
});
const iptablesChain = z.strictObject({
  kind: z.literal('iptables-chain'),
  family,
  table: iptablesTable,
  name: chain,
  because,
});
const iptablesRule = z.strictObject({
  kind: z.literal('iptables-rule'),
  family,
  table: iptablesTable,
  chain,
  args: z.array(valid(text(256), isIptablesToken, 'iptables argument')).max(64),
  position: z.literal('head').optional(),
  because,
});
const nftIdentifier = valid(text(64), isNftIdentifier, 'nft name');
const nftTable = z.strictObject({
  kind: z.literal('nft-table'),
  family: z.enum(['ip', 'ip6', 'inet']),
  name: nftIdentifier,
  chains: z
    .array(
      z.strictObject({
        name: nftIdentifier,
        base: z
          .strictObject({
            type: z.enum(['nat', 'filter']),
            hook: z.enum(NFT_HOOKS as [string, ...string[]]),
            priority: valid(z.number(), isNftPriority, 'nft priority'),
            policy: z.enum(['accept', 'drop']),
          })
          .optional(),
        rules: z.array(valid(text(1024), isNftRule, 'nft rule')).max(MAX_OBJECTS),
      }),
    )
    .max(256),
  because,
});
const changeObject = z.discriminatedUnion('kind', [
  liveRule,
  absentRule,
  liveRoute,
  absentRoute,
  addr,
  link,
  sysctl,
  iptablesChain,
  iptablesRule,
  nftTable,
]);

const hostPlan = z.strictObject({
  version: z.literal(1),
  node: z.strictObject({ instanceId: text(64), instanceType: text(64), primaryInterface: dev }),
  links: list(link),
  sysctls: list(sysctl),
  addresses: list(addr),
  routes: list(route),
  absentRoutes: list(absentRoute),
  rules: list(rule),
  absentRules: list(absentRule).optional(),
  iptablesChains: list(iptablesChain),
  iptablesRules: list(iptablesRule),
  nftTables: list(nftTable),
  ownership: z.strictObject({
    rulePriorities: list(valid(z.number(), isRulePriority, 'rule priority')),
    routeTables: list(table),
    iptablesChainPrefixes: list(valid(text(28), (p) => p === '' || isIptablesChain(p), 'chain prefix')),
    iptablesComments: list(valid(text(256), isIptablesToken, 'comment')),
    nftTables: list(
      valid(text(80), (t) => /^(ip|ip6|inet) /.test(t) && isNftIdentifier(t.slice(t.indexOf(' ') + 1)), 'nft table'),
    ),
    vethPrefixes: list(valid(text(15), (p) => p === '' || isInterfaceName(p), 'veth prefix')),
  }),
});

const change = z.strictObject({
  kind: z.enum(['add', 'delete', 'replace']),
  object: changeObject,
  reason: text(1024),
  previous: changeObject.optional(),
});

const savedPlan = z.strictObject({
  format: z.literal(SAVED_PLAN_FORMAT),
  version: z.literal(1),
  netns: valid(text(64), (n) => /^[\w.-]+$/.test(n), 'namespace name').optional(),
  plan: hostPlan,
  changes: list(change),
});

export function savePlan(plan: HostPlan, changes: ChangeSet, netns?: string): string {
  const saved: SavedPlan = {
    format: SAVED_PLAN_FORMAT,
    version: 1,
    ...(netns === undefined ? {} : { netns }),
    plan,
    changes,
  };
  return `${JSON.stringify(saved, null, 2)}\n`;
}

/** Parses a saved plan, refusing it whole (naming up to five offending fields) unless every value is valid. */
export function parseSavedPlan(text: string, source: string): SavedPlan {
  if (Buffer.byteLength(text) > MAX_SAVED_PLAN_BYTES) {
    throw new Error(`${source}: larger than ${MAX_SAVED_PLAN_BYTES} bytes; not a saved plan`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${source}: not JSON: ${(error as Error).message.slice(0, 200)}`);
  }
  const result = savedPlan.safeParse(value, { error: plainMessages });
  if (!result.success) {
    const problems = describeIssues(result.error, value).map((line) => `  ${line}`);
    throw new Error(`${source}: not a valid saved plan; nothing was applied:\n${problems.join('\n')}`);
  }
  return result.data as SavedPlan;
}
