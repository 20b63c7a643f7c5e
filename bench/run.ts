// Runs every bench/*.bench.ts in turn, each in its own process so one benchmark's warm-up cannot favour another.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
let failed = 0;
for (const file of files) {
  process.stdout.write(`\n== ${file}\n`);
  // A fresh cache directory each: a CUE catalog cached by an earlier run must not make a cold start look warm.
  const cacheDir = mkdtempSync(join(tmpdir(), 'vpc-cni-bench-cache-'));
  const result = await execa(process.execPath, [join(here, file)], {
    stdio: 'inherit',
    reject: false,
    env: { VPC_CNI_CACHE_DIR: cacheDir },
  });
  rmSync(cacheDir, { recursive: true, force: true });
  if (result.exitCode !== 0) failed++;
}
process.exitCode = failed === 0 ? 0 : 1;
