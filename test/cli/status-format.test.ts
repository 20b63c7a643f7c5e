import test from 'ava';
import { DoctorReply, ExplainReply, StatusReply } from '../../src/agent/replies.ts';
import { formatDoctor } from '../../src/cli/commands/doctor.ts';
import { formatExplain } from '../../src/cli/commands/explain.ts';
import { ago, formatStatus } from '../../src/cli/commands/status.ts';

const NOW = Date.parse('2026-12-03T12:00:00Z');

const status = StatusReply.parse({
  node: { name: 'ip-10-0-1-5', instanceId: 'i-0abc', instanceType: 't3.medium' },
  ready: true,
  reason: 'serving',
  startedAt: '2026-12-03T11:59:00Z',
  timeToReadyMs: 812,
  pool: {
    enis: [
      {
        eni: 'eni-a',
        deviceNumber: 0,
        primary: true,
        total: 5,
        assigned: 3,
        cooling: 1,
        quarantined: 0,
        free: 1,
        prefixes: 0,
      },
    ],
    total: 5,
    assigned: 3,
    cooling: 1,
    quarantined: 0,
    free: 1,
    prefixes: 0,
    waitingPods: 0,
  },
  loops: [
    {
      name: 'warm-pool',
      periodMs: 5000,
      runs: 12,
      failures: 0,
      consecutiveFailures: 0,
      lastOkAt: '2026-12-03T11:59:57Z',
      lastError: null,
      nextAt: null,
    },
    {
      name: 'ec2-reconcile',
      periodMs: 60000,
      runs: 3,
      failures: 3,
      consecutiveFailures: 3,
      lastOkAt: null,
      lastError: 'UnauthorizedOperation',
      nextAt: null,
    },
  ],
  pendingRecycle: ['AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG'],
  lastSync: { changes: 0, enis: ['eni-a'], pendingEnis: [] },
  recentRepairs: [],
});

test('status text: readiness, the pool per ENI, failing loops, changes pending a recycle', (t) => {
  const text = formatStatus(status, NOW);
  t.regex(text, /^node ip-10-0-1-5 \(i-0abc, t3\.medium\)\nready: serving ADD \(ready 0\.8 s after start\)\n/);
  t.regex(text, /pool: 5 addresses on 1 ENI\(s\): 3 assigned, 1 free, 1 cooling/);
  t.regex(text, /eni-a \(primary\) +0 +5 +3 +1 +1/);
  t.regex(text, /warm-pool +every 5s +last ok 3s ago +12 runs, 0 failed/);
  t.regex(text, /ec2-reconcile +every 1m +last ok never +FAILING \(3 in a row\): UnauthorizedOperation/);
  t.regex(text, /in effect only after a node recycle: AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG/);
  t.regex(
    formatStatus({ ...status, ready: false, reason: 'converging the host network' }, NOW),
    /^NOT READY: converging the host network$/m,
  );
  t.is(ago('2026-12-03T10:00:00Z', NOW), '2h ago');
});

test('explain text: the wiring, and the differences when the kernel does not match', (t) => {
  const reply = ExplainReply.parse({
    namespace: 'default',
    name: 'web-0',
    interfaces: [
      {
        ip: '10.0.2.9',
        eniId: 'eni-b',
        deviceNumber: 1,
        routeTable: 2,
        hostVeth: 'eni0123456789a',
        containerId: 'c1',
        ifName: 'eth0',
        assignedAt: '2026-12-03T11:59:30.000Z',
        planned: ['route 10.0.2.9/32 dev eni0123456789a scope link table main'],
        snat: ['elsewhere: SNAT to 10.0.1.5'],
        kernelMatches: false,
        differences: ['+ route 10.0.2.9/32 dev eni0123456789a scope link table main   (missing)'],
      },
    ],
  });
  const text = formatExplain(reply);
  t.regex(text, /eth0: 10\.0\.2\.9 on ENI eni-b \(device 1\), route table 2, host veth eni0123456789a/);
  t.regex(text, /kernel: DIFFERS from the plan \(1\)/);
  t.regex(text, /\n {4}\+ route 10\.0\.2\.9\/32 .*\(missing\)\n$/);
  t.regex(
    formatExplain({ ...reply, interfaces: [{ ...reply.interfaces[0]!, kernelMatches: true, differences: [] }] }),
    /kernel: matches the plan\n$/,
  );
});

test('doctor text: errors first, each with its fix, then every check and its status', (t) => {
  const reply = DoctorReply.parse({
    findings: [
      { check: 'leaked-enis', severity: 'warning', problem: '1 ENI(s) ...', fix: 'sweep' },
      { check: 'rp_filter', severity: 'error', problem: 'strict', fix: 'sysctl -w net.ipv4.conf.eth0.rp_filter=2' },
    ],
    checks: [
      { check: 'rp_filter', status: 'findings', detail: 'eth0: 1' },
      { check: 'subnet-headroom', status: 'skipped', detail: 'no EC2 client yet' },
    ],
  });
  const text = formatDoctor(reply);
  t.regex(
    text,
    /^ERROR \[rp_filter\] strict\n {2}fix: sysctl -w net\.ipv4\.conf\.eth0\.rp_filter=2\nWARNING \[leaked-enis\]/,
  );
  t.regex(text, /subnet-headroom +skipped +no EC2 client yet/);
  t.regex(formatDoctor({ findings: [], checks: [] }), /^No findings\./);
});
