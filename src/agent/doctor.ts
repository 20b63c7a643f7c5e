/**
 * `vpc-cni doctor`, the agent's side: the misconfigurations operators hit again and again (users-and-peers.md), each
 * checked against the live node and said as a finding with its fix. The findings are pure functions of what was read;
 * the shell reads the kernel, IMDS and EC2 once per run, and a check whose input cannot be read is reported as skipped
 * with the reason rather than passing silently.
 */
import { DescribeNetworkInterfacesCommand, DescribeSubnetsCommand } from '@aws-sdk/client-ec2';
import { parseIpAddr, parseSysctlLines } from '../apply/parse.ts';
import type { Runner } from '../apply/run.ts';
import type { IptablesMode, NodeFacts } from '../compiler/facts.ts';
import type { Link } from '../compiler/plan.ts';
import type { Config } from '../compiler/settings/index.ts';
import type { Ec2Api } from '../ipam/cloud/client.ts';
import { DESCRIPTION_PREFIX, TAG_INSTANCE } from '../ipam/cloud/ec2.ts';
import { type ImdsClient, readNodeFacts } from '../ipam/cloud/imds.ts';
import type { Datastore } from '../ipam/datastore.ts';
import type { WarmPoolPolicy } from '../ipam/policy/types.ts';
import { detectIptablesMode } from '../node/host-facts.ts';
import { checkHost } from './explain.ts';
import type { CheckName, DoctorReply, Finding } from './replies.ts';

export type { CheckName, DoctorReply as DoctorReport, Finding } from './replies.ts';

/** Below this many free addresses a subnet is worth a warning: one more ENI of addresses may not fit. */
export const SUBNET_HEADROOM_WARNING = 16;

/**
 * PURE: the kernel's reverse-path filter on the primary interface. The kernel applies max(all, interface), so `all`
 * matters only while the interface is off its planned loose (2); strict (1) drops replies for pods on secondary ENIs
 * that arrive on the primary. `repairs` are recent drift repairs that put
 * an rp_filter back: a writer elsewhere fights the agent even when the value is right at this moment.
 */
export function rpFilterFindings(
  primary: string,
  values: { readonly all?: string; readonly iface?: string },
  planned: string,
  repairs: readonly string[],
): Finding[] {
  const findings: Finding[] = [];
  const effective = Math.max(Number(values.all ?? 0), Number(values.iface ?? 0));
  if (values.iface !== planned) {
    findings.push({
      check: 'rp_filter',
      severity: effective === 1 ? 'error' : 'warning',
      problem: `net.ipv4.conf.${primary}.rp_filter is ${values.iface ?? 'unreadable'}, the agent sets ${planned} (loose)${effective === 1 ? ': strict mode drops replies to pods on secondary ENIs' : ''}`,
      fix: `sysctl -w net.ipv4.conf.${primary}.rp_filter=${planned} (the agent's drift repair also puts it back); find what writes it (a sysctl.d file, systemd-networkd, a tuning DaemonSet)`,
    });
  }
  if (repairs.length > 0) {
    findings.push({
      check: 'rp_filter',
      severity: 'warning',
      problem: `the agent restored rp_filter ${repairs.length} time(s) since start (last: ${repairs.at(-1)})`,
      fix: 'something else on the node writes rp_filter: find it (grep -r rp_filter /etc/sysctl.d /usr/lib/sysctl.d, the node image, DaemonSets) and remove it',
    });
  }
  return findings;
}

/** PURE: ENI links whose MTU is not AWS_VPC_ENI_MTU, and pod veths whose MTU is not POD_MTU. */
export function mtuFindings(
  planned: readonly Link[],
  live: readonly Link[],
  pod: { readonly mtu: number; readonly vethPrefix: string },
): Finding[] {
  const byName = new Map(live.map((l) => [l.name, l]));
  const findings: Finding[] = [];
  for (const want of planned) {
    const have = byName.get(want.name);
    if (have !== undefined && have.mtu !== want.mtu) {
      findings.push({
        check: 'mtu',
        severity: 'error',
        problem: `${want.name} has MTU ${have.mtu}, AWS_VPC_ENI_MTU is ${want.mtu}`,
        fix: `ip link set ${want.name} mtu ${want.mtu} (the agent's drift repair does it too), or set AWS_VPC_ENI_MTU to what the network carries`,
      });
    }
  }
  const veths = live.filter((l) => l.name.startsWith(pod.vethPrefix) && l.mtu !== pod.mtu);
  if (veths.length > 0) {
    findings.push({
      check: 'mtu',
      severity: 'warning',
      problem: `${veths.length} pod veth(s) have an MTU other than POD_MTU ${pod.mtu} (${veths
        .slice(0, 5)
        .map((l) => `${l.name}: ${l.mtu}`)
        .join(', ')}): wired under another POD_MTU`,
      fix: 'POD_MTU applies to pods wired after it changed: restart those pods to rewire them',
    });
  }
  return findings;
}

/** PURE: the backend the plan writes with against the one the node's iptables uses, and rules left in the other. */
export function iptablesFindings(planned: IptablesMode, detected: IptablesMode, otherBackendRules: number): Finding[] {
  const findings: Finding[] = [];
  if (planned !== detected) {
    findings.push({
      check: 'iptables-backend',
      severity: 'error',
      problem: `the agent's connmark backend is ${planned}, the node's iptables is ${detected}: the agent's marks and kube-proxy's rules live in different tables and do not see each other`,
      fix: `set VPC_CNI_IPTABLES_MODE=${detected} (or use the node image's iptables alternative consistently) and restart the agent`,
    });
  }
  if (otherBackendRules > 0) {
    const other = detected === 'legacy' ? 'nf_tables' : 'legacy';
    findings.push({
      check: 'iptables-backend',
      severity: 'warning',
      problem: `${otherBackendRules} rule(s) exist in the ${other} backend too (iptables-${other === 'legacy' ? 'legacy' : 'nft'}-save): both backends filter packets`,
      fix: `find the writer using ${other} (an old kube-proxy or CNI image) and move it to ${detected}; then flush the ${other} tables`,
    });
  }
  return findings;
}

export interface EniAddresses {
  readonly id: string;
  /** Secondary /32s and /28 prefixes. */
  readonly cidrs: readonly string[];
}

/** PURE: ENIs and addresses EC2 (the engine's last reconcile) and IMDS disagree on. */
export function imdsEc2Findings(imds: readonly EniAddresses[], ec2: readonly EniAddresses[]): Finding[] {
  const findings: Finding[] = [];
  const imdsById = new Map(imds.map((e) => [e.id, new Set(e.cidrs)]));
  const ec2ById = new Map(ec2.map((e) => [e.id, new Set(e.cidrs)]));
  const fix =
    'IMDS lags EC2 by seconds after a change; if this lasts over a few minutes, the instance metadata is out of sync (the reference logs IMDSMetaDataOutOfSync): detach the ENI it names, or recycle the node';
  for (const [id, cidrs] of ec2ById) {
    const seen = imdsById.get(id);
    if (seen === undefined) {
      findings.push({ check: 'imds-vs-ec2', severity: 'warning', problem: `EC2 lists ENI ${id}, IMDS does not`, fix });
      continue;
    }
    const onlyEc2 = [...cidrs].filter((c) => !seen.has(c));
    const onlyImds = [...seen].filter((c) => !cidrs.has(c));
    if (onlyEc2.length + onlyImds.length > 0) {
      findings.push({
        check: 'imds-vs-ec2',
        severity: 'warning',
        problem: `ENI ${id}: ${[
          onlyEc2.length > 0 ? `EC2 only: ${onlyEc2.slice(0, 5).join(', ')}` : '',
          onlyImds.length > 0 ? `IMDS only: ${onlyImds.slice(0, 5).join(', ')}` : '',
        ]
          .filter((s) => s !== '')
          .join('; ')}`,
        fix,
      });
    }
  }
  for (const id of imdsById.keys()) {
    if (!ec2ById.has(id))
      findings.push({ check: 'imds-vs-ec2', severity: 'warning', problem: `IMDS lists ENI ${id}, EC2 does not`, fix });
  }
  return findings;
}

/** PURE: subnets this node's ENIs use that are (nearly) out of addresses. */
export function subnetFindings(
  subnets: readonly { readonly id: string; readonly free: number }[],
  perEni: number,
): Finding[] {
  const floor = Math.max(SUBNET_HEADROOM_WARNING, perEni);
  return subnets
    .filter((s) => s.free < floor)
    .map((s) => ({
      check: 'subnet-headroom' as const,
      severity: s.free === 0 ? ('error' as const) : ('warning' as const),
      problem: `subnet ${s.id} has ${s.free} free address(es); one more ENI here needs ${perEni}`,
      fix: 'add a subnet for pods (ENABLE_SUBNET_DISCOVERY with the kubernetes.io/role/cni tag, or custom networking with an ENIConfig), or enable prefix delegation with a subnet that has free /28s',
    }));
}

/** PURE: the max-pods the agent plans for against the addresses the node can ever hold. */
export function maxPodsFindings(
  policy: Pick<WarmPoolPolicy, 'maxPods' | 'maxEnis' | 'slotsPerEni' | 'prefixDelegation' | 'skipPrimaryEni'>,
): Finding[] {
  const enis = policy.maxEnis - (policy.skipPrimaryEni ? 1 : 0);
  const capacity = enis * policy.slotsPerEni * (policy.prefixDelegation ? 16 : 1);
  if (policy.maxPods <= capacity + 2) return [];
  return [
    {
      check: 'max-pods',
      severity: 'error',
      problem: `max-pods is ${policy.maxPods} but the node can hold only ${capacity} pod addresses (${enis} ENI(s) × ${policy.slotsPerEni}${policy.prefixDelegation ? ' × 16' : ''}): pods past that fail their ADD`,
      fix: `set kubelet --max-pods to at most ${capacity + 2} (\`vpc-cni max-pods\` computes it), or enable prefix delegation`,
    },
  ];
}

/** What the Kubernetes side found holding the kubelet's maxPods against the node's capacity (bus 'pod-capacity'). */
export interface KubeletCapacity {
  readonly capacity: number;
  readonly kubeletMaxPods: number | undefined;
  readonly mismatch?: string;
}

/** PURE: the kubelet's maxPods against the node's address capacity, in the Kubernetes side's words. */
export function kubeletFindings(reported: KubeletCapacity | undefined): Finding[] {
  if (reported?.mismatch === undefined) return [];
  const [problem, fix] = reported.mismatch.split(/; (?=set )/);
  return [
    {
      check: 'max-pods',
      severity: (reported.kubeletMaxPods ?? 0) > reported.capacity ? 'error' : 'warning',
      problem: problem!,
      fix: fix ?? "set the kubelet's --max-pods to what `vpc-cni max-pods` prints",
    },
  ];
}

/** PURE. */
export function leakedFindings(ids: readonly string[]): Finding[] {
  if (ids.length === 0) return [];
  return [
    {
      check: 'leaked-enis',
      severity: 'warning',
      problem: `${ids.length} ENI(s) created for this instance are detached and unused: ${ids.slice(0, 10).join(', ')}`,
      fix: 'the agent deletes them in its hourly sweep (unless DISABLE_LEAKED_ENI_CLEANUP=true); or `aws ec2 delete-network-interface --network-interface-id ID`',
    },
  ];
}

export interface DoctorInputs {
  readonly runner: Runner;
  readonly config: Config;
  readonly store: Datastore;
  readonly policy: WarmPoolPolicy;
  readonly imds: ImdsClient;
  /** The agent's EC2 client; undefined until the engine has one (the EC2 checks are then skipped). */
  readonly ec2: Ec2Api | undefined;
  readonly instanceId: string;
  /** Recent drift repairs, one line per object put back. */
  readonly repairs: readonly string[];
  /** The last kubelet maxPods finding of the Kubernetes side; undefined without Kubernetes. */
  readonly kubelet: KubeletCapacity | undefined;
}

function imdsAddresses(facts: NodeFacts): EniAddresses[] {
  return facts.enis.map((e) => ({
    id: e.interfaceId,
    cidrs: [...e.localIpv4s.slice(1).map((ip) => `${ip}/32`), ...e.ipv4Prefixes],
  }));
}

async function otherBackendRuleCount(runner: Runner, detected: IptablesMode): Promise<number> {
  const other = detected === 'legacy' ? 'iptables-nft-save' : 'iptables-legacy-save';
  const { stdout } = await runner.inNetns(other, []);
  return stdout.split('\n').filter((l) => l.startsWith('-A ')).length;
}

/** Runs every check; never throws for a check's input (that check is skipped, saying why). */
export async function runDoctor(d: DoctorInputs): Promise<DoctorReply> {
  const findings: Finding[] = [];
  const checks: DoctorReply['checks'][number][] = [];
  const run = async (check: CheckName, body: () => Promise<{ found: Finding[]; detail: string }>) => {
    try {
      const { found, detail } = await body();
      findings.push(...found);
      checks.push({ check, status: found.length > 0 ? 'findings' : 'ok', detail });
    } catch (error) {
      checks.push({ check, status: 'skipped', detail: (error as Error).message.split('\n')[0]!.slice(0, 300) });
    }
  };
  const host = await checkHost(d.runner, d.imds, d.config, d.store.leases()).catch((error: Error) => error);
  const needHost = () => {
    if (host instanceof Error) throw host;
    return host;
  };
  await run('rp_filter', async () => {
    const { facts, plan } = needHost();
    const primary = facts.enis.find((e) => e.deviceNumber === 0 && e.networkCard === 0)?.interfaceName;
    if (primary === undefined) throw new Error('the primary ENI has no interface on the node');
    const planned = plan.sysctls.find((s) => s.path === `net/ipv4/conf/${primary}/rp_filter`)?.value ?? '2';
    const read = parseSysctlLines(
      await d.runner.readProcSys(['net/ipv4/conf/all/rp_filter', `net/ipv4/conf/${primary}/rp_filter`]),
    );
    const value = (path: string) => read.find((s) => s.path === path)?.value;
    const values = {
      ...(value('net/ipv4/conf/all/rp_filter') === undefined ? {} : { all: value('net/ipv4/conf/all/rp_filter')! }),
      ...(value(`net/ipv4/conf/${primary}/rp_filter`) === undefined
        ? {}
        : { iface: value(`net/ipv4/conf/${primary}/rp_filter`)! }),
    };
    return {
      found: rpFilterFindings(
        primary,
        values,
        planned,
        d.repairs.filter((r) => r.includes('rp_filter')),
      ),
      detail: `${primary}: ${values.iface ?? '?'}, all: ${values.all ?? '?'}`,
    };
  });
  await run('mtu', async () => {
    const { plan } = needHost();
    const live = parseIpAddr((await d.runner.ip(['-json', 'addr', 'show'])).stdout).links;
    return {
      found: mtuFindings(plan.links, live, { mtu: d.config.POD_MTU, vethPrefix: d.config.AWS_VPC_K8S_CNI_VETHPREFIX }),
      detail: `${plan.links.length} ENI link(s) and the pod veths compared`,
    };
  });
  await run('iptables-backend', async () => {
    const mode = d.config.VPC_CNI_IPTABLES_MODE;
    const planned = mode === 'nf_tables' || mode === 'legacy' ? mode : needHost().facts.iptablesMode;
    const detected = await detectIptablesMode(d.runner);
    const other = await otherBackendRuleCount(d.runner, detected).catch(() => 0);
    return {
      found: iptablesFindings(planned, detected, other),
      detail: `agent: ${planned}, node: ${detected}`,
    };
  });
  await run('imds-vs-ec2', async () => {
    const imds = imdsAddresses(await readNodeFacts(d.imds));
    const ec2 = d.store.eniIds().map((id) => ({
      id,
      cidrs: d.store
        .cidrs(id)
        .filter((c) => !c.quarantined)
        .map((c) => c.cidr),
    }));
    return { found: imdsEc2Findings(imds, ec2), detail: `${ec2.length} ENI(s) compared` };
  });
  const ec2 = d.ec2;
  await run('subnet-headroom', async () => {
    if (ec2 === undefined) throw new Error('no EC2 client yet');
    const ids = [...new Set(d.store.eniIds().map((id) => d.store.eni(id)?.subnetId ?? ''))].filter((s) => s !== '');
    const out = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: ids }));
    const subnets = (out.Subnets ?? []).map((s) => ({ id: s.SubnetId ?? '', free: s.AvailableIpAddressCount ?? 0 }));
    return {
      found: subnetFindings(subnets, d.policy.slotsPerEni * (d.policy.prefixDelegation ? 16 : 1)),
      detail: subnets.map((s) => `${s.id}: ${s.free} free`).join(', '),
    };
  });
  await run('max-pods', async () => ({
    found: [...maxPodsFindings(d.policy), ...kubeletFindings(d.kubelet)],
    detail: `max-pods ${d.policy.maxPods}, ${d.policy.maxEnis} ENI(s) × ${d.policy.slotsPerEni} slots, kubelet maxPods ${d.kubelet?.kubeletMaxPods ?? 'not known (no Kubernetes)'}`,
  }));
  await run('leaked-enis', async () => {
    if (ec2 === undefined) throw new Error('no EC2 client yet');
    const out = await ec2.send(
      new DescribeNetworkInterfacesCommand({
        Filters: [
          { Name: `tag:${TAG_INSTANCE}`, Values: [d.instanceId] },
          { Name: 'status', Values: ['available'] },
        ],
      }),
    );
    const leaked = (out.NetworkInterfaces ?? [])
      .filter((e) => (e.Description ?? '').startsWith(DESCRIPTION_PREFIX))
      .map((e) => e.NetworkInterfaceId ?? '');
    return { found: leakedFindings(leaked), detail: `${leaked.length} detached ENI(s) tagged for ${d.instanceId}` };
  });
  return { findings, checks };
}
