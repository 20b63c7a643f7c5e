import { readFile } from 'node:fs/promises';
import test from 'ava';
import { manifestDocuments, only, root } from './support.ts';

// No image can be built here (no container runtime), so these check the Dockerfile against what it must agree with:
// the package's files, the DaemonSet's command and init container, and the build context.

const dockerfile = async () => readFile(new URL('Dockerfile', root), 'utf8');

/** The instructions of the last stage (the image), continuation lines joined and comments dropped. */
function finalStage(text: string): string[] {
  const instructions = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'));
  const from = instructions.findLastIndex((line) => line.startsWith('FROM '));
  return instructions.slice(from);
}

test('the image is node:24-slim with the kernel tools, and holds what the npm package ships', async (t) => {
  const stage = finalStage(await dockerfile());
  t.is(stage[0], 'FROM node:24-slim');
  const installed = stage.find((line) => line.includes('apt-get install'))?.split(/\s+/) ?? [];
  for (const tool of ['iproute2', 'iptables', 'nftables']) t.true(installed.includes(tool), tool);
  const packageJson = JSON.parse(await readFile(new URL('package.json', root), 'utf8')) as { files: string[] };
  const copied = stage
    .filter((line) => line.startsWith('COPY --from=bundle /src/'))
    .map((line) => line.split(/\s+/)[2]);
  for (const file of packageJson.files) t.true(copied.includes(`/src/${file.replace(/\/$/, '')}`), file);
});

test('the DaemonSet runs what the image provides: vpc-cni on PATH, the plugin cache, the upstream CNI plugins', async (t) => {
  const text = await dockerfile();
  const stage = finalStage(text).join('\n');
  const pod = (
    only(await manifestDocuments(), 'DaemonSet').spec as {
      template: { spec: { containers: { command: string[] }[]; initContainers: { args: string[] }[] } };
    }
  ).template.spec;
  t.regex(
    stage,
    new RegExp(
      `COPY --chmod=0755 <<'EOF' /usr/local/bin/${pod.containers[0]!.command[0]}\n[^]*?\nexec /opt/vpc-cni/bin/vpc-cni\\.js "\\$@"\nEOF\n`,
    ),
  );
  // The agent finds the plugin executable built at image build only if it looks in the same cache.
  t.regex(stage, /ENV VPC_CNI_CACHE_DIR=\S+\nRUN .*vpc-cni install-cni /);
  const built = [...text.matchAll(/containernetworking\/plugins\/plugins\/\w+\/([\w-]+)@/g)].map((m) => m[1]);
  const copied = /for plugin in ([\w -]+); do/.exec(pod.initContainers[0]!.args[0]!)?.[1]?.split(' ');
  t.deepEqual(copied, built);
});

test('the build context keeps what the build reads', async (t) => {
  const ignored = (await readFile(new URL('.dockerignore', root), 'utf8'))
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'));
  for (const needed of ['package.json', 'package-lock.json', 'src', 'scripts', 'schema', 'bin'])
    t.false(ignored.includes(needed), needed);
});
