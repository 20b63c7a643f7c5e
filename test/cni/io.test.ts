import { once } from 'node:events';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import test, { type ExecutionContext } from 'ava';
import { execa } from 'execa';
import { readInput, writeOutput } from '../../src/cni/io.ts';
import { CniError, ErrorCode } from '../../src/cni/spec.ts';

/** A file holding `content`, open for reading; closed and removed at teardown. */
function fileFd(t: ExecutionContext, content: string | Buffer): number {
  const dir = mkdtempSync(join(tmpdir(), 'vc-io-'));
  const path = join(dir, 'stdin');
  writeFileSync(path, content);
  const fd = openSync(path, 'r');
  t.teardown(() => {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });
  return fd;
}

test('stdin is read whole, across many reads, as UTF-8', (t) => {
  // Larger than one read, with a multi-byte character straddling the first read's end.
  const content = `${'x'.repeat(64 * 1024 - 1)}é${'{"cniVersion":"1.0.0"}'.repeat(4000)}`;
  t.is(readInput(1024 * 1024, fileFd(t, content)), content);
});

test('an empty stdin reads as the empty string', (t) => {
  t.is(readInput(1024, fileFd(t, '')), '');
});

test('stdin of exactly the bound is read; one byte more is refused as a decoding failure', (t) => {
  t.is(readInput(100, fileFd(t, 'a'.repeat(100))), 'a'.repeat(100));
  const error = t.throws(() => readInput(100, fileFd(t, 'a'.repeat(101))), { instanceOf: CniError });
  t.is(error.code, ErrorCode.decodingFailure);
  t.regex(error.message, /larger than 100 bytes/);
});

test('a descriptor that cannot be read is an I/O failure naming stdin', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vc-io-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fd = openSync(join(dir, 'out'), 'w');
  t.teardown(() => closeSync(fd));
  const error = t.throws(() => readInput(1024, fd), { instanceOf: CniError });
  t.is(error.code, ErrorCode.ioFailure);
  t.regex(error.message, /reading the network configuration from stdin/);
});

test('the answer is written whole', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vc-io-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'stdout');
  const fd = openSync(path, 'w');
  const text = `${JSON.stringify({ cniVersion: '1.1.0', ips: [{ address: '10.0.1.5/32' }], note: 'é'.repeat(50_000) })}\n`;
  writeOutput(text, fd);
  closeSync(fd);
  t.is(readFileSync(path, 'utf8'), text);
});

test('a non-blocking stdin with nothing in it yet is waited for, not taken for its end', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vc-io-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fifo = join(dir, 'stdin');
  await execa('mkfifo', [fifo]);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  t.teardown(() => closeSync(reader));
  // Held open by this thread and handed to a worker that writes a little later and closes it: until then a read finds
  // a writer and no data (EAGAIN), which a runtime's non-blocking pipe gives too.
  const writer = openSync(fifo, constants.O_WRONLY);
  const worker = new Worker(
    `const { workerData } = require('node:worker_threads');
     const { writeSync, closeSync } = require('node:fs');
     setTimeout(() => { writeSync(workerData, '{"cniVersion":"1.0.0"}'); closeSync(workerData); }, 100);`,
    { eval: true, workerData: writer },
  );
  t.teardown(() => worker.terminate());
  await once(worker, 'online');
  t.is(readInput(1024, reader), '{"cniVersion":"1.0.0"}');
});
