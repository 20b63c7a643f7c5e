import type { ExecutionContext } from 'ava';
import { execa } from 'execa';
import type { AgentEvent } from '../../src/agent/bus.ts';
import { withApplyLock } from '../../src/apply/lock.ts';
import { namedNetns } from '../../src/apply/run.ts';
import { hostVethName } from '../../src/lib/pod-wiring.ts';
import { canBuildCniRuntime } from '../helpers/cni-runtime.ts';
import { testNeeding } from '../helpers/needs.ts';
import { canCreateNetns } from '../helpers/netns.ts';
import { addressOf, type Bed, bed, nodeIp, pings } from './support.ts';

// Drift repair on a running agent with wired pods (./support.ts): someone damages the node's host network and the
// agent puts back exactly what it owns, saying so object by object; what someone else added stays.

const kernel = testNeeding(
  canCreateNetns && (await canBuildCniRuntime()),
  'needs root for namespaces and golang-go + golang-github-appc-cni-dev for the libcni runtime',
);

const SYSTEM_PATH = '/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin';

/** A command in the node's namespace, as an operator (or another agent) on the host would run it. */
async function onNode(b: Bed, file: string, args: readonly string[]): Promise<string> {
  const r = await execa('ip', ['netns', 'exec', b.nodeNs, file, ...args], { env: { PATH: SYSTEM_PATH } });
  return r.stdout;
}

/** Polls until `done` holds; fails naming `what` after `boundMs` (a bound for a hung repair, not a speed claim). */
async function eventually(what: string, boundMs: number, done: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + boundMs;
  while (!(await done())) {
    if (performance.now() > deadline) throw new Error(`not within ${boundMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function restoredLines(events: readonly AgentEvent[]): string[] {
  return events.flatMap((e) => (e.kind === 'drift-repaired' ? e.restored : []));
}

/** True once a drift-repaired event has said a line matching `line`. */
const said = (events: readonly AgentEvent[], line: RegExp) => restoredLines(events).some((l) => line.test(l));
const escaped = (s: string) => s.replaceAll('.', '\\.');
const podRouteLine = (ip: string) =>
  new RegExp(`^route ${escaped(ip)}/32 dev eni[0-9a-f]{11} scope link table main restored \\(missing\\)$`);

const awsNatLines = async (b: Bed) =>
  (await onNode(b, 'iptables-save', ['-t', 'nat'])).split('\n').filter((l) => l.includes('AWS'));

/**
 * A node with `count` wired pods whose warm pool has settled, converged once more so its last plan holds them all.
 * Settled first: the pool loop attaches a warm ENI after the ADDs, and damage written while that apply runs is a
 * concurrent writer to it (its verify fails and its rollback puts the damage back itself, saying nothing).
 */
async function wired(t: ExecutionContext, count: number, drift: { periodMs: number; watch?: boolean }) {
  const b = await bed(t, 't3.medium', {}, { drift });
  const events: AgentEvent[] = [];
  t.teardown(b.agent.bus.subscribe((e) => events.push(e)));
  const pods = await Promise.all(Array.from({ length: count }, (_, i) => b.pod(t, `drift-${i}`)));
  const ips = await Promise.all(pods.map(async (p) => addressOf(await b.runtime.add(p.attachment))));
  const enis = () => b.agent.node.engine.store.eniIds().toSorted().join(' ');
  await eventually('the warm pool settled', 30_000, async () => {
    const before = enis();
    // Longer than a pool period (the bed's loopMs): an attach decided in that step has begun by then.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const host = await b.agent.host.sync();
    return enis() === before && [...host.enis].toSorted().join(' ') === before;
  });
  const route = async (i: number) =>
    nodeIp(b.nodeNs, ['-4', 'route', 'show', 'table', 'main', `${ips[i]}/32`]).then((out) =>
      out.includes(`dev ${hostVethName('eni', 'default', `drift-${i}`)}`),
    );
  return { b, events, pods, ips, route };
}

const PERIOD_MS = 5_000;
/** One drift period, plus the re-plan's own time on a loaded 2-core machine (a bound for a hung repair). */
const SLACK_MS = 10_000;
const WITHIN_PERIOD_MS = PERIOD_MS + SLACK_MS;

kernel(
  'a flushed nat table, a deleted pod route and a changed rp_filter are put back and said; foreign rules stay',
  async (t) => {
    const { b, events, pods, ips, route } = await wired(t, 3, { periodMs: PERIOD_MS });
    const node = b.sims.node!;
    const rpFilter = b.agent.host.last!.plan.sysctls.find((s) => s.path.endsWith('/rp_filter'))!;
    const natBefore = await awsNatLines(b);
    t.true(natBefore.length > 2, natBefore.join('\n'));

    // (d) first: someone else's rule, routes and iptables rule, none of them the agent's.
    await nodeIp(b.nodeNs, ['rule', 'add', 'pref', '100', 'from', '192.0.2.0/24', 'lookup', '100']);
    await nodeIp(b.nodeNs, ['route', 'add', 'blackhole', '192.0.2.0/24', 'table', '100']);
    await nodeIp(b.nodeNs, ['route', 'add', 'blackhole', '198.51.100.0/24']);
    const foreignNat = ['-s', '192.0.2.0/24', '-m', 'comment', '--comment', 'not aws', '-j', 'RETURN'];
    await onNode(b, 'iptables', ['-t', 'nat', '-I', 'POSTROUTING', '1', ...foreignNat]);
    const foreign = async () => ({
      rules: (await nodeIp(b.nodeNs, ['rule', 'show'])).split('\n').filter((l) => l.includes('192.0.2.0/24')),
      table100: await nodeIp(b.nodeNs, ['route', 'show', 'table', '100']),
      main: (await nodeIp(b.nodeNs, ['route', 'show'])).split('\n').filter((l) => l.includes('198.51.100.0/24')),
      nat: (await onNode(b, 'iptables-save', ['-t', 'nat'])).split('\n').filter((l) => l.includes('not aws')),
    });
    const foreignBefore = await foreign();
    t.is(foreignBefore.rules.length, 1);
    t.is(foreignBefore.nat.length, 1);

    // (a), (b), (c), under the apply lock: a repair running between them would see a writer race its apply, and its
    // rollback would put back the state it read (some of the damage) without a word.
    await withApplyLock(namedNetns(b.nodeNs), async () => {
      await onNode(b, 'iptables', ['-t', 'nat', '-F']);
      await nodeIp(b.nodeNs, ['route', 'del', `${ips[1]}/32`, 'dev', hostVethName('eni', 'default', 'drift-1')]);
      await onNode(b, 'sysctl', ['-q', '-w', `${rpFilter.path}=1`]);
    });

    const rpLine = new RegExp(`^sysctl ${rpFilter.path} = ${rpFilter.value} restored \\(1 → ${rpFilter.value}\\)$`);
    const jumpLine = /^iptables -t nat -A POSTROUTING .*-j AWS-SNAT-CHAIN-0 restored \(missing\)$/;
    await eventually('the AWS nat rules back, and said', WITHIN_PERIOD_MS, async () => {
      const back = (await awsNatLines(b)).some((l) => l.includes('-j AWS-SNAT-CHAIN-0'));
      return back && said(events, jumpLine);
    });
    await eventually(`route ${ips[1]}/32 back, and said`, WITHIN_PERIOD_MS, async () => {
      return (await route(1)) && said(events, podRouteLine(ips[1]!));
    });
    await eventually('rp_filter back, and said', WITHIN_PERIOD_MS, async () => {
      const back = (await onNode(b, 'sysctl', ['-n', rpFilter.path])).trim() === rpFilter.value;
      return back && said(events, rpLine);
    });
    // The flush took the foreign rule along with ours (it was in the same table): put it back, it must stay.
    await onNode(b, 'iptables', ['-t', 'nat', '-I', 'POSTROUTING', '1', ...foreignNat]);
    t.deepEqual((await awsNatLines(b)).toSorted(), natBefore.toSorted(), 'every AWS nat rule is back, once');

    const lines = restoredLines(events);
    const say = lines.join('\n');
    t.regex(say, /^iptables -t nat -A AWS-SNAT-CHAIN-0 .* --to-source .* restored \(missing\)$/m);
    t.notRegex(say, /192\.0\.2\.|198\.51\.100\.|not aws/, 'nothing foreign is named');
    t.false(
      lines.some((l) => l.includes(ips[0]!) || l.includes(ips[2]!)),
      'the untouched pods are not repaired',
    );
    for (const e of events) if (e.kind === 'drift-repaired') t.true(e.detectionToRepairMs >= 0);
    t.true(
      b.logs.some((l) => l.includes('drift repair: ') && l.includes(`${ips[1]}/32`)),
      'the log says what was restored',
    );

    // A re-plan now changes nothing, and leaves the foreign objects exactly as they were.
    t.is((await b.agent.host.sync()).changes, 0);
    t.deepEqual(await foreign(), foreignBefore);

    for (const [i, p] of pods.entries()) {
      t.true(await pings(p.ns, node.vpcPeer), `pod ${ips[i]} → VPC peer`);
      t.true(await pings(p.ns, node.internetPeer), `pod ${ips[i]} → internet peer (SNAT restored)`);
    }
  },
);

kernel('with kernel events off, the timer alone finds and repairs drift', async (t) => {
  const { b, events, ips, route } = await wired(t, 1, { periodMs: 1_500, watch: false });
  t.deepEqual(b.agent.drift.monitors(), []);
  await nodeIp(b.nodeNs, ['route', 'del', `${ips[0]}/32`]);
  await eventually(`route ${ips[0]}/32 back, and said`, 1_500 + SLACK_MS, async () => {
    return (await route(0)) && said(events, podRouteLine(ips[0]!));
  });
  const loop = b.agent.view.loops().find((l) => l.name === 'drift-repair');
  t.true(loop !== undefined && loop.runs > 0 && loop.periodMs === 1_500, JSON.stringify(loop));
});

kernel('a kernel event repairs long before the timer, and a monitor that dies is started again', async (t) => {
  const { b, events, ips, route } = await wired(t, 1, { periodMs: 600_000 });
  const ipMonitor = () => b.agent.drift.monitors().find((m) => m.command.startsWith('ip '));
  const first = ipMonitor()?.pid;
  t.truthy(first, JSON.stringify(b.agent.drift.monitors()));
  process.kill(first!, 'SIGKILL');
  await eventually('the ip monitor started again', SLACK_MS, async () => {
    const now = ipMonitor();
    return now?.pid !== undefined && now.pid !== first && now.restarts === 1;
  });
  t.true(b.logs.some((l) => l.includes('was killed (SIGKILL); starting it again')));
  // The nft monitor would see nothing of a route: this repair comes from the restarted ip monitor.
  await nodeIp(b.nodeNs, ['route', 'del', `${ips[0]}/32`]);
  await eventually(`route ${ips[0]}/32 back, and said`, SLACK_MS, async () => {
    return (await route(0)) && said(events, podRouteLine(ips[0]!));
  });
});

kernel(
  'a pod whose host veth is still down, as the plugin leaves it until its host batch, is left out of a re-plan',
  async (t) => {
    const { b, ips, route } = await wired(t, 1, { periodMs: 600_000, watch: false });
    const veth = hostVethName('eni', 'default', 'drift-0');
    // The plugin makes the pair before it takes the apply lock, and brings the host end up in its locked batch: an
    // agent apply in between sees the pod in its datastore and a veth that is down, which a route through is refused.
    await withApplyLock(namedNetns(b.nodeNs), () => nodeIp(b.nodeNs, ['link', 'set', veth, 'down']));
    t.false(await route(0), 'the kernel drops the route through a link that goes down');
    const down = await b.agent.host.sync();
    t.false(
      down.plan.routes.some((r) => r.dev === veth),
      `no route through ${veth} is planned while it is down`,
    );
    t.false(await route(0));

    await withApplyLock(namedNetns(b.nodeNs), () => nodeIp(b.nodeNs, ['link', 'set', veth, 'up']));
    const up = await b.agent.host.sync();
    t.true(up.changes > 0, 'the route is put back once the veth is up');
    t.true(await route(0), `route ${ips[0]}/32 dev ${veth}`);
  },
);
