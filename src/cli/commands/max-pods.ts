import { instanceTypeLimits } from '../../data/instance-limits.ts';
import { maxPodsFor } from '../../ipam/policy/limits.ts';
import { maxPodsCap, vcpusFromSize } from '../../ipam/policy/max-pods.ts';
import { prefixDelegationSupported } from '../../lib/instance-limits.ts';
import { type Command, outputFormat, outputOption, UsageError } from '../command.ts';

export { maxPodsCap, vcpusFromSize };

function positiveInt(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d+$/.test(value) || Number(value) < 1)
    throw new UsageError(`${flag} must be a positive integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

export const maxPods: Command = {
  name: 'max-pods',
  help: `Usage: vpc-cni max-pods --instance-type TYPE [--prefix-delegation] [--max-eni N] [--custom-networking]
                        [--cpus N] [--show-max-allowed] [--output text|json]

Prints the number of pods a node can hold, alone on the first line of stdout (notes go to stderr).

Without --prefix-delegation, --custom-networking or --cpus the result is the Amazon VPC CNI's eni-max-pods.txt value:
ENIs × (IPv4 addresses per ENI − 1) + 2. With any of them the rules of the Amazon EKS max-pods calculator apply:
custom networking leaves the primary ENI out, prefix delegation (Nitro or bare metal only) multiplies each address
slot by 16, and the result is capped at 110 (≤ 30 vCPUs) or 250 (> 30 vCPUs) unless --show-max-allowed is given.

Flags:
  --instance-type TYPE   EC2 instance type, e.g. m5.large (limits from the bundled instance-limits.json)
  --prefix-delegation    ENABLE_PREFIX_DELEGATION=true
  --max-eni N            MAX_ENI: use at most N ENIs
  --custom-networking    AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true
  --cpus N               vCPUs of the type, for the 110/250 cap (default: inferred from the size name)
  --show-max-allowed     do not apply the 110/250 cap
  -o, --output FORMAT    text (default) or json

Exit codes: 0 printed, 1 unknown instance type or bad flags.
`,
  options: {
    'instance-type': { type: 'string' },
    'prefix-delegation': { type: 'boolean', default: false },
    'max-eni': { type: 'string' },
    'custom-networking': { type: 'boolean', default: false },
    cpus: { type: 'string' },
    'show-max-allowed': { type: 'boolean', default: false },
    ...outputOption,
  },
  async run({ values, io }) {
    const output = outputFormat(values);
    const instanceType = values['instance-type'];
    if (typeof instanceType !== 'string' || instanceType === '') throw new UsageError('--instance-type is required');
    const limits = instanceTypeLimits(instanceType);
    if (limits === undefined) {
      io.stderr(
        `vpc-cni max-pods: unknown instance type "${instanceType}": it is not in the bundled instance limits ` +
          '(check the spelling, e.g. m5.large; types newer than the table are read from EC2 DescribeInstanceTypes by the agent)\n',
      );
      return 1;
    }
    const maxEni = positiveInt(values['max-eni'], '--max-eni') ?? -1;
    const cpusFlag = positiveInt(values.cpus, '--cpus');
    const prefix = values['prefix-delegation'] === true;
    const custom = values['custom-networking'] === true;
    const notes: string[] = [];
    if (prefix && !prefixDelegationSupported(limits)) {
      notes.push(
        `prefix delegation needs a Nitro or bare-metal instance; ${instanceType} is ${limits.hypervisorType}: computed without it`,
      );
    }
    let pods = maxPodsFor(limits, {
      MAX_ENI: maxEni,
      ENABLE_PREFIX_DELEGATION: prefix,
      AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: custom,
    });
    const calculator = prefix || custom || cpusFlag !== undefined;
    let cap: number | undefined;
    if (calculator && values['show-max-allowed'] !== true) {
      const cpus = cpusFlag ?? vcpusFromSize(instanceType);
      if (cpus === undefined) {
        io.stderr(
          `vpc-cni max-pods: cannot tell the vCPUs of ${instanceType} from its name: pass --cpus N (or --show-max-allowed)\n`,
        );
        return 1;
      }
      if (cpusFlag === undefined) notes.push(`assuming ${cpus} vCPUs from the size name (pass --cpus to override)`);
      cap = maxPodsCap(cpus);
      if (pods > cap)
        notes.push(`capped at ${cap} (the EKS calculator's limit for ${cpus > 30 ? '> 30' : '≤ 30'} vCPUs)`);
      pods = Math.min(pods, cap);
    }
    if (output === 'json') {
      io.stdout(
        `${JSON.stringify({ instanceType, maxPods: pods, eniLimit: limits.eniLimit, ipv4Limit: limits.ipv4Limit, cap: cap ?? null, notes })}\n`,
      );
    } else {
      io.stdout(`${pods}\n`);
      for (const note of notes) io.stderr(`note: ${note}\n`);
    }
    return 0;
  },
};
