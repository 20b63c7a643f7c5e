import { WriteError } from './errors.ts';
import { type Payloads, renderPayloads, type WriteInput } from './payloads.ts';
import { CommandError, type Runner } from './run.ts';

/**
 * Runs a ChangeSet as at most one process per backend: sysctls, `ip -4 -batch -`, `ip -6 -batch -`,
 * `iptables-restore --noflush` and `ip6tables-restore --noflush` (one transaction per table inside), `nft -f -`.
 * Without `-force`, `ip -batch` stops at the first failing line, so the failure point is known and rollback has
 * less to undo. The order is the one of `renderPayloads`: nothing is removed before its replacement exists.
 */

/** How each tool names the failing line of its standard input. */
const FAILED_LINE: Record<string, RegExp> = {
  ip: /Command failed -:(\d+)/,
  iptables: /(?:line (\d+) failed|Error occurred at line: (\d+))/,
  nft: /(?:\/dev\/stdin|-):(\d+):/,
};

async function batch(backend: string, tool: keyof typeof FAILED_LINE, payload: string, run: () => Promise<unknown>) {
  if (payload === '') return;
  try {
    await run();
  } catch (error) {
    const output = error instanceof CommandError ? `${error.result.stderr}\n${error.result.stdout}` : String(error);
    const match = FAILED_LINE[tool]!.exec(output);
    const detail = output
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !FAILED_LINE[tool]!.test(l))
      .join('; ');
    const line = match === null ? undefined : Number(match[1] ?? match[2]);
    throw new WriteError(backend, payload, line, detail || String(error), error);
  }
}

export async function writePayloads(runner: Runner, payloads: Payloads): Promise<void> {
  if (payloads.sysctls.length > 0) {
    try {
      await runner.writeProcSys(payloads.sysctls);
    } catch (error) {
      const text = payloads.sysctls.map((s) => `${s.path}=${s.value}`).join('\n');
      throw new WriteError('sysctl', text, undefined, (error as Error).message, error);
    }
  }
  const { ip, iptables, nft } = payloads;
  await batch('ip -4', 'ip', ip.inet, () => runner.ip(['-4', '-batch', '-'], { input: ip.inet }));
  await batch('ip -6', 'ip', ip.inet6, () => runner.ip(['-6', '-batch', '-'], { input: ip.inet6 }));
  await batch('iptables-restore', 'iptables', iptables.inet, () =>
    runner.inNetns('iptables-restore', ['--noflush'], { input: iptables.inet }),
  );
  await batch('ip6tables-restore', 'iptables', iptables.inet6, () =>
    runner.inNetns('ip6tables-restore', ['--noflush'], { input: iptables.inet6 }),
  );
  await batch('nft', 'nft', nft, () => runner.inNetns('nft', ['-f', '-'], { input: nft }));
}

export function write(runner: Runner, input: WriteInput): Promise<void> {
  return writePayloads(runner, renderPayloads(input));
}
