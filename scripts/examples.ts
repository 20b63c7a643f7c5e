/**
 * The checked-in examples: node snapshots × configs → rendered plans. Shared by `scripts/render-examples.ts` (writes)
 * and test/compiler/examples.test.ts (re-renders and compares), so both agree on what "every example" is.
 */
import { readFile } from 'node:fs/promises';
import { compileHostPlan } from '../src/compiler/compile.ts';
import { parseNodeFacts } from '../src/compiler/facts.ts';
import { renderPlanJson, renderPlanText } from '../src/compiler/render/index.ts';
import { formatIssue } from '../src/compiler/settings/index.ts';
import { loadConfig } from '../src/config/load.ts';

export const examplesDir = new URL('../examples/', import.meta.url);

/** Every meaningful pair: the IPv4 configs on the IPv4-mode nodes, the IPv6 config on the IPv6 node. */
export const EXAMPLE_PAIRS: readonly { node: string; config: string }[] = [
  ...['m5-large-single-eni', 'three-eni-two-cidrs'].flatMap((node) =>
    ['defaults', 'external-snat', 'custom-mtu-veth-exclusions'].map((config) => ({ node, config })),
  ),
  { node: 'ipv6', config: 'ipv6' },
];

export function examplePath(relative: string): string {
  return new URL(relative, examplesDir).pathname;
}

/** Loads one config the way `vpc-cni plan` does (no process environment); throws with every issue listed. */
export async function exampleConfig(config: string, from: 'configmap' | 'env') {
  const file = examplePath(`configs/${config}/${from === 'configmap' ? 'configmap.yaml' : 'env'}`);
  const loaded = await loadConfig(from === 'configmap' ? { env: {}, configMap: file } : { env: {}, envFile: file });
  if (!loaded.ok) throw new Error(`${file}:\n${loaded.errors.map(formatIssue).join('\n')}`);
  return loaded.config;
}

export interface RenderedExample {
  readonly base: string;
  readonly text: string;
  readonly json: string;
}

/** Renders the plan of one pair from its ConfigMap; files are `plans/<node>--<config>.{txt,json}`. */
export async function renderExample(node: string, config: string): Promise<RenderedExample> {
  const nodeFile = examplePath(`nodes/${node}.json`);
  const facts = parseNodeFacts(JSON.parse(await readFile(nodeFile, 'utf8')), nodeFile);
  const plan = compileHostPlan(await exampleConfig(config, 'configmap'), facts);
  return { base: `plans/${node}--${config}`, text: renderPlanText(plan), json: renderPlanJson(plan) };
}
