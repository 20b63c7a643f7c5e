import { StatusReply } from '../../agent/replies.ts';
import { askAgent, introspectionAddress, introspectionHelp, introspectionOption } from '../agent-client.ts';
import { type Command, outputFormat, outputOption } from '../command.ts';

/** PURE: `3s ago`, `4m ago`, `2h ago` — how long before `nowMs` an ISO time was. */
export function ago(iso: string | null, nowMs: number): string {
  if (iso === null) return 'never';
  const s = Math.max(0, Math.round((nowMs - Date.parse(iso)) / 1000));
  if (s < 120) return `${s}s ago`;
  if (s < 7_200) return `${Math.round(s / 60)}m ago`;
  return `${Math.round(s / 3_600)}h ago`;
}

function period(ms: number): string {
  return ms % 60_000 === 0 && ms >= 60_000 ? `${ms / 60_000}m` : `${ms / 1000}s`;
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => `  ${r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')}`.trimEnd());
}

/** PURE: the status as people read it. */
export function formatStatus(s: StatusReply, nowMs: number): string {
  const { pool } = s;
  const head = `node ${s.node.name || '(MY_NODE_NAME unset)'} (${s.node.instanceId}, ${s.node.instanceType})`;
  const readiness = s.ready
    ? `ready: serving ADD${s.timeToReadyMs === null ? '' : ` (ready ${(s.timeToReadyMs / 1000).toFixed(1)} s after start)`}`
    : `NOT READY: ${s.reason}`;
  const lines = [head, readiness, ''];
  lines.push(
    `pool: ${pool.total} addresses on ${pool.enis.length} ENI(s): ${pool.assigned} assigned, ${pool.free} free, ${pool.cooling} cooling${pool.quarantined > 0 ? `, ${pool.quarantined} quarantined` : ''}${pool.waitingPods > 0 ? `; ${pool.waitingPods} ADD(s) waiting` : ''}`,
  );
  if (pool.enis.length > 0) {
    lines.push(
      ...table([
        ['ENI', 'DEVICE', 'TOTAL', 'ASSIGNED', 'FREE', 'COOLING'],
        ...pool.enis.map((e) => [
          `${e.eni}${e.primary ? ' (primary)' : ''}`,
          String(e.deviceNumber),
          String(e.total),
          String(e.assigned),
          String(e.free),
          String(e.cooling),
        ]),
      ]),
    );
  }
  lines.push('', 'loops:');
  if (s.loops.length === 0) lines.push('  (none running)');
  else {
    lines.push(
      ...table(
        s.loops.map((l) => [
          l.name,
          `every ${period(l.periodMs)}`,
          `last ok ${ago(l.lastOkAt, nowMs)}`,
          l.consecutiveFailures > 0
            ? `FAILING (${l.consecutiveFailures} in a row): ${l.lastError ?? 'unknown error'}`
            : `${l.runs} runs, ${l.failures} failed`,
        ]),
      ),
    );
  }
  lines.push('');
  lines.push(
    s.pendingRecycle.length === 0
      ? 'config: every change is in effect'
      : `config: changed, in effect only after a node recycle: ${s.pendingRecycle.join(', ')}`,
  );
  if (s.recentRepairs.length > 0) {
    const last = s.recentRepairs.at(-1)!;
    lines.push(
      `drift: ${s.recentRepairs.length} repair(s) recently; last ${ago(last.at, nowMs)}: ${last.restored.slice(0, 3).join('; ')}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export const status: Command = {
  name: 'status',
  help: `Usage: vpc-cni status [--introspection ADDR] [--output text|json]

Asks the agent on this node how it is: ready or not and why, the address pool per ENI (free, assigned, cooling),
its loops (warm pool, EC2 reconcile, drift repair...) and when each last succeeded, and configuration changes that
wait for a node recycle. It reads the agent's introspection endpoint (\`/v1/status\`).

Flags:
${introspectionHelp}
  -o, --output FORMAT   text (default) or json (the agent's reply as is)

Exit codes: 0 ready, 2 the agent answers but is not ready, 1 the agent cannot be reached or bad flags.
`,
  options: { ...introspectionOption, ...outputOption },
  async run({ values, io }) {
    const output = outputFormat(values);
    const answer = await askAgent(introspectionAddress(values, io.env), '/v1/status', StatusReply);
    if (!answer.ok) {
      io.stderr(`vpc-cni status: the agent answered ${answer.status}: ${answer.error}\n`);
      return 1;
    }
    io.stdout(
      output === 'json' ? `${JSON.stringify(answer.reply, null, 2)}\n` : formatStatus(answer.reply, Date.now()),
    );
    return answer.reply.ready ? 0 : 2;
  },
};
