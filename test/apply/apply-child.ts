/**
 * A separate process running one `apply` of a plan read from a file (argv: NETNS PLAN.json), so kernel tests can
 * `kill -9` a writer mid-apply and hold the lock from another process. Prints each progress message on stdout.
 */
import { readFile } from 'node:fs/promises';
import { apply } from '../../src/apply/apply.ts';
import { namedNetns, Runner } from '../../src/apply/run.ts';

const [netns, file] = process.argv.slice(2);
const plan = JSON.parse(await readFile(file!, 'utf8'));
const result = await apply(new Runner(namedNetns(netns!)), plan, {
  progress: (message) => process.stdout.write(`${message}\n`),
});
process.stdout.write(`done applied=${result.applied}\n`);
