// Config load time: the first CUE evaluation (wasm compile + schema) against later ones, and the pure parse that
// runs on every load. The baseline is the same parse without any CUE call (the generated catalog).
import { performance } from 'node:perf_hooks';
import { generatedCatalog, parseConfig } from '../src/compiler/settings/index.ts';
import { defaultCacheDir } from '../src/config/cache-dir.ts';
import { loadConfig } from '../src/config/load.ts';
import { configSchemaFile, loadCatalog, runCue } from '../src/config/schema.ts';

const env = {
  WARM_IP_TARGET: '5',
  MINIMUM_IP_TARGET: '10',
  AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: '10.9.0.0/16,0.0.0.0/0',
};
const ms = (start: number) => performance.now() - start;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// No prebuilt entry (dist/catalog.json) and the fresh cache directory bench/run.ts gives each bench: CUE evaluates.
let start = performance.now();
await loadCatalog(configSchemaFile, defaultCacheDir(), null);
const first = ms(start);

const later: number[] = [];
for (let i = 0; i < 10; i++) {
  start = performance.now();
  await runCue('export', [configSchemaFile], { '--out': 'json', '-e': 'settings' });
  later.push(ms(start));
}

const cached: number[] = [];
for (let i = 0; i < 50; i++) {
  start = performance.now();
  await loadConfig({ env });
  cached.push(ms(start));
}

const parse: number[] = [];
const layer = {
  kind: 'env' as const,
  values: Object.entries(env).map(([key, value]) => ({ key, value, source: { kind: 'env' as const } })),
};
for (let i = 0; i < 200; i++) {
  start = performance.now();
  parseConfig([layer], generatedCatalog());
  parse.push(ms(start));
}

console.log(`first CUE evaluation (wasm compile + schema):  ${first.toFixed(1)} ms`);
console.log(`later CUE evaluations (median of 10):           ${median(later).toFixed(1)} ms`);
console.log(
  `loadConfig after the first (median of 50):      ${median(cached).toFixed(2)} ms  (catalog cached per process)`,
);
console.log(`pure parse + cross-field rules (median of 200): ${median(parse).toFixed(3)} ms`);
console.log(`ratio first CUE call / later CUE call:          ${(first / median(later)).toFixed(1)}x`);
console.log(`ratio first CUE call / pure parse:              ${(first / median(parse)).toFixed(0)}x`);
