/**
 * Whole-file replacement that a concurrent reader (a container runtime reading the conflist, a restarted agent reading
 * its checkpoint) sees as the old file or the new one, never a torn one: a temporary file in the same directory (so
 * the rename cannot cross file systems), fsync, rename over the target, fsync of the directory.
 */
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** What the new file holds: bytes, or the contents of another file (copied, never read into memory). */
export type FileContent = { readonly data: string | Uint8Array } | { readonly copyOf: string };

export async function replaceFile(path: string, content: FileContent, mode: number): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    if ('copyOf' in content) await copyFile(content.copyOf, temp);
    else await (await open(temp, 'wx', mode)).close();
    // chmod, not the open mode alone: the umask would otherwise decide whether a plugin is executable.
    await chmod(temp, mode);
    const file = await open(temp, 'r+');
    try {
      if ('data' in content) await file.writeFile(content.data);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
