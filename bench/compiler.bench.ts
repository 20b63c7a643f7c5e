// Host plan compile and render time for a three-ENI node, by pod count. The baseline is the same node with no pods,
// so the ratios show the per-pod cost (a /32 route and one or two rules each), which is what grows on a busy node.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { compileHostPlan, type PodAssignment } from '../src/compiler/compile.ts';
import { parseNodeFacts } from '../src/compiler/facts.ts';
import { renderIpBatches, renderPlanJson, renderPlanText } from '../src/compiler/render/index.ts';
import { testConfig } from '../src/compiler/settings/index.ts';

const file = new URL('../examples/nodes/three-eni-two-cidrs.json', import.meta.url);
const facts = parseNodeFacts(JSON.parse(readFileSync(file, 'utf8')), file.pathname);
const config = testConfig({ AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: '172.16.0.0/12' });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function pods(count: number): PodAssignment[] {
  return Array.from({ length: count }, (_, i) => ({
    ip: `100.64.${Math.floor(i / 250)}.${(i % 250) + 2}`,
    hostVeth: `eni${i.toString(16).padStart(11, '0')}`,
    eniTable: 2 + (i % 2),
  }));
}

function measure(count: number, runs: number) {
  const input = pods(count);
  const compile: number[] = [];
  const render: number[] = [];
  for (let i = 0; i < runs; i++) {
    let start = performance.now();
    const plan = compileHostPlan(config, facts, input);
    compile.push(performance.now() - start);
    start = performance.now();
    renderPlanText(plan);
    renderPlanJson(plan);
    renderIpBatches([...plan.routes, ...plan.rules].map((object) => ({ object, op: 'add' as const })));
    render.push(performance.now() - start);
  }
  return { compile: median(compile), render: median(render) };
}

measure(110, 50); // warm-up
const baseline = measure(0, 200);
console.log(`pods   compile ms   render ms (text+json+ip-batch)   compile vs 0 pods`);
for (const count of [0, 110, 250, 1000]) {
  const m = count === 0 ? baseline : measure(count, 100);
  console.log(
    `${String(count).padStart(4)}   ${m.compile.toFixed(3).padStart(10)}   ${m.render.toFixed(3).padStart(9)}` +
      `                        ×${(m.compile / baseline.compile).toFixed(1)}`,
  );
}
