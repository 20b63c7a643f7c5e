#!/usr/bin/env -S node --
// The one file that runs before the Node version is known, so it uses only syntax and modules any Node since 14
// has (no static import, no top-level await, no `?.`/`??`): a Node that is too old gets one line, not a SyntaxError.
// The `--` in the shebang ends Node's own options: `--env-file` after it is ours, not Node's (nodejs/node#54232).
const required = 24;
const major = Number(process.versions.node.split('.')[0]);
const args = process.argv.slice(2);

function fail(message) {
  process.stderr.write(`vpc-cni: ${message}\n`);
  process.exitCode = 1;
}

if (major >= required) {
  import('../dist/vpc-cni.js').then(
    (bundle) => bundle.runAsProcess(args),
    (error) =>
      fail(`cannot load dist/vpc-cni.js (${error.message}); in a clone, \`npm ci\` or \`npm run build\` makes it`),
  );
} else {
  // A clone has Node 24 as a dev dependency: use it rather than refuse. The variable stops a loop if it is old too.
  const bundled = new URL('../node_modules/.bin/node', import.meta.url);
  Promise.all([import('node:fs'), import('node:child_process'), import('node:url')]).then(([fs, childProcess, url]) => {
    if (process.env.VPC_CNI_REEXEC !== undefined || !fs.existsSync(bundled)) {
      fail(`needs Node.js ${required} or newer, this is ${process.version} (${process.execPath})`);
      return;
    }
    const result = childProcess.spawnSync(
      url.fileURLToPath(bundled),
      ['--', url.fileURLToPath(import.meta.url)].concat(args),
      {
        stdio: 'inherit',
        env: Object.assign({}, process.env, { VPC_CNI_REEXEC: '1' }),
      },
    );
    if (result.error) fail(`cannot start ${url.fileURLToPath(bundled)}: ${result.error.message}`);
    else if (result.signal) process.kill(process.pid, result.signal);
    else process.exitCode = result.status;
  });
}
