import { configOptions, configOptionsHelp, loadConfigFromFlags } from '../../config/load.ts';
import { simulate as runSimulation, type SimulationOutcome } from '../../harness/simulate.ts';
import { type Command, outputFormat, outputOption, UsageError } from '../command.ts';
import { reportConfigIssues } from '../config-issues.ts';

function envPairs(values: unknown): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const item of (values as string[] | undefined) ?? []) {
    const at = item.indexOf('=');
    if (at < 1) throw new UsageError(`-e expects KEY=VALUE, got ${JSON.stringify(item)}`);
    pairs[item.slice(0, at)] = item.slice(at + 1);
  }
  return pairs;
}

function count(value: unknown, flag: string): number {
  if (typeof value !== 'string' || !/^\d+$/.test(value)) {
    throw new UsageError(`${flag} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

function table(o: SimulationOutcome): string {
  const rows = o.enis.map(
    (e) =>
      `  ${String(e.deviceNumber).padEnd(6)} ${e.id.padEnd(24)} ${String(e.ips).padStart(4)} ${String(e.prefixes).padStart(8)} ${String(e.pods).padStart(5)}`,
  );
  return [
    `${o.instanceType}: ${o.podsPlaced}/${o.pods} pods placed (max-pods ${o.maxPods}; address capacity ${o.podCapacity} pods)`,
    `  ${'device'.padEnd(6)} ${'eni'.padEnd(24)} ${'ips'.padStart(4)} ${'prefixes'.padStart(8)} ${'pods'.padStart(5)}`,
    ...rows,
    `idle addresses: ${o.idleAddresses}`,
    `EC2 calls: ${o.ec2Calls.total} (${o.ec2Calls.mutating} mutating)`,
    ...o.unplaced.map((u) => `not placed: ${u}`),
    ...o.notes.map((n) => `note: ${n}`),
    '',
  ].join('\n');
}

export const simulate: Command = {
  name: 'simulate',
  help: `Usage: vpc-cni simulate --instance-type TYPE --pods N [--environment-file FILE] [--configmap FILE]
                        [-e KEY=VALUE ...] [--max-pods N] [--policy reference|surge] [--output text|json]

Capacity planner. Starts a simulated node of TYPE with its primary ENI, runs the real IPAM engine (the same warm-pool
policy, EC2 calls through the AWS SDK, checkpoint) against the built-in EC2 simulator, adds N pods one at a time
(each as soon as an address is free), lets the pool settle and prints where the addresses ended up. Use it to see a
policy's IP footprint (WARM_ENI_TARGET, WARM_IP_TARGET, MINIMUM_IP_TARGET, WARM_PREFIX_TARGET,
ENABLE_PREFIX_DELEGATION, MAX_ENI, IP_COOLDOWN_PERIOD) before rolling it out.

Flags:
  --instance-type TYPE  an EC2 instance type (limits from the built-in table)
  --pods N              pods to add
${configOptionsHelp}
  -e, --env KEY=VALUE   a setting, as in the DaemonSet env (repeatable; overrides the other sources)
  --max-pods N          the node's max-pods (default: what \`vpc-cni max-pods\` prints for TYPE and the settings)
  --policy NAME         reference (default: ipamd's decisions) or surge (also counts waiting pods)
  -o, --output FORMAT text (default) or json:
                        {enis: [{deviceNumber, ips, prefixes, pods}], ec2Calls: {total, mutating}, idleAddresses, ...}
                        ips = secondary IPv4 addresses on the ENI (its primary address not counted);
                        prefixes = /28 prefixes

Exit codes: 0 every pod placed, 1 invalid input or a pod could not be placed (the reason is printed).
`,
  options: {
    ...configOptions,
    ...outputOption,
    'instance-type': { type: 'string' },
    pods: { type: 'string' },
    env: { type: 'string', short: 'e', multiple: true },
    'max-pods': { type: 'string' },
    policy: { type: 'string', default: 'reference' },
  },
  async run({ values, io }) {
    const output = outputFormat(values);
    const instanceType = values['instance-type'];
    if (typeof instanceType !== 'string') throw new UsageError('--instance-type is required');
    const pods = count(values.pods, '--pods');
    const mode = values.policy;
    if (mode !== 'reference' && mode !== 'surge') throw new UsageError(`--policy must be reference or surge`);
    const loaded = await loadConfigFromFlags(values, { ...io.env, ...envPairs(values.env) });
    if (!reportConfigIssues(loaded, io)) return 1;
    const result = await runSimulation({
      instanceType,
      pods,
      config: loaded.config,
      mode,
      ...(values['max-pods'] !== undefined ? { maxPods: count(values['max-pods'], '--max-pods') } : {}),
    });
    if (output === 'json') io.stdout(`${JSON.stringify(result, null, 2)}\n`);
    else io.stdout(table(result));
    return result.unplaced.length === 0 ? 0 : 1;
  },
};
