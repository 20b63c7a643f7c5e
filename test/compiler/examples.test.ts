/**
 * Every checked-in example plan is exactly what the compiler renders today from its node snapshot and ConfigMap, and
 * each config's env file means the same as its ConfigMap. On a mismatch: `node scripts/render-examples.ts`, then
 * review the diff of examples/plans/.
 */
import { readFile } from 'node:fs/promises';
import test from 'ava';
import { EXAMPLE_PAIRS, exampleConfig, examplePath, renderExample } from '../../scripts/examples.ts';

for (const { node, config } of EXAMPLE_PAIRS) {
  test(`examples/plans/${node}--${config} is up to date`, async (t) => {
    const example = await renderExample(node, config);
    t.is(await readFile(examplePath(`${example.base}.txt`), 'utf8'), example.text);
    t.is(await readFile(examplePath(`${example.base}.json`), 'utf8'), example.json);
  });
}

for (const config of new Set(EXAMPLE_PAIRS.map((p) => p.config))) {
  test(`examples/configs/${config}: env file and ConfigMap give the same config`, async (t) => {
    t.deepEqual(await exampleConfig(config, 'env'), await exampleConfig(config, 'configmap'));
  });
}
