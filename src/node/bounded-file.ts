/**
 * Reading a file an operator or another process names, without trusting it to be small or even a file: a FIFO, a
 * device such as /dev/zero or a runaway write is refused before more than the bound is read. For every input file
 * that reaches a schema (checkpoints, node snapshots, saved plans, env files).
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

export class UnreadableFileError extends Error {
  override readonly name = 'UnreadableFileError';
  readonly kind: 'not_regular' | 'too_large';
  constructor(kind: UnreadableFileError['kind'], detail: string) {
    super(detail);
    this.kind = kind;
  }
}

/**
 * The file's text (UTF-8), or undefined when it does not exist. Anything but a regular file of at most `maxBytes` is
 * an UnreadableFileError; other failures (permissions, I/O) are the system's own error.
 */
export async function readBoundedFile(path: string, maxBytes: number): Promise<string | undefined> {
  let file: Awaited<ReturnType<typeof open>>;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; the regular-file check below then refuses it.
    file = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const info = await file.stat();
    if (!info.isFile()) throw new UnreadableFileError('not_regular', 'not a regular file');
    if (info.size > maxBytes) {
      throw new UnreadableFileError('too_large', `${info.size} bytes, larger than ${maxBytes}`);
    }
    // One byte more than the bound, to catch a file that grew since the stat.
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await file.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) throw new UnreadableFileError('too_large', `larger than ${maxBytes} bytes`);
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    await file.close();
  }
}
