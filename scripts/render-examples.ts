// Regenerates examples/plans/*.{txt,json} from examples/nodes × examples/configs, and schema/node.schema.json from
// the NodeFacts zod schema. test/compiler/examples.test.ts and test/compiler/facts.test.ts fail when they are stale.
import { writeFile } from 'node:fs/promises';
import { nodeFactsJsonSchema } from '../src/compiler/facts.ts';
import { EXAMPLE_PAIRS, examplePath, renderExample } from './examples.ts';

for (const { node, config } of EXAMPLE_PAIRS) {
  const example = await renderExample(node, config);
  await writeFile(examplePath(`${example.base}.txt`), example.text);
  await writeFile(examplePath(`${example.base}.json`), example.json);
  console.log(`wrote examples/${example.base}.{txt,json}`);
}
const schemaFile = new URL('../schema/node.schema.json', import.meta.url);
await writeFile(schemaFile, `${JSON.stringify(nodeFactsJsonSchema(), null, 2)}\n`);
console.log('wrote schema/node.schema.json');
