#!/usr/bin/env -S node --
// The one file that runs before the Node version is known, so it uses only syntax and modules any Node since 14
// has (no static import, no top-level await, no `?.`/`??`): a Node that is too old gets one line, not a SyntaxError.
// The `--` in the shebang ends Node's own options. Node also scans every argument up to the first `--` for its
// `--env-file` (nodejs/node#54232), even after the script name, so our flag is `--environment-file`: npx (itself a
// Node program) and `node bin/vpc-cni.js` see nothing of theirs in our arguments either.
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
  // A clone has Node 24 as a dev dependency: use it rather than refuse. If this process already is that Node (too
  // old as well), refuse instead of starting it again; nothing is passed in the environment, which the config reads.
  Promise.all([import('node:fs'), import('node:child_process'), import('node:url')]).then(([fs, childProcess, url]) => {
    let bundled;
    try {
      bundled = fs.realpathSync(url.fileURLToPath(new URL('../node_modules/.bin/node', import.meta.url)));
    } catch {
      bundled = undefined;
    }
    if (bundled === undefined || bundled === fs.realpathSync(process.execPath)) {
      fail(`needs Node.js ${required} or newer, this is ${process.version} (${process.execPath})`);
      return;
    }
    const result = childProcess.spawnSync(bundled, ['--', url.fileURLToPath(import.meta.url)].concat(args), {
      stdio: 'inherit',
    });
    if (result.error) fail(`cannot start ${bundled}: ${result.error.message}`);
    else if (result.signal) process.kill(process.pid, result.signal);
    else process.exitCode = result.status;
  });
}
