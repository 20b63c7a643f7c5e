/**
 * Puts the plugin where the container runtime finds it: DIR/aws-cni (the single executable, 0755) and
 * CONFDIR/10-aws.conflist (0644), each replaced atomically and only when its bytes differ. The agent calls this last
 * in its start-up, once it can serve ADDs, so a node takes pods only then (as the reference's entrypoint does).
 */
import { lstat, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import { replaceFile } from '../node/atomic-file.ts';
import { CONFLIST_NAME, type PluginNetconf, renderConflist } from './conflist.ts';
import { type PluginExecutableOptions, pluginExecutable, sha256File } from './plugin-executable.ts';

export const PLUGIN_NAME = 'aws-cni';
/** The agent's socket when none is named: the default state directory's. */
export const DEFAULT_AGENT_SOCKET = '/run/vpc-cni/agent.sock';
const MAX_PATH = 1024;
/** sun_path is 108 bytes with its terminating NUL. */
const MAX_SOCKET_PATH = 107;

export interface InstallCniOptions {
  readonly binDir: string;
  readonly confDir: string;
  readonly socketPath: string;
  readonly netconf: PluginNetconf;
  /** Where the executable is built and cached, and from what (defaults: the cache dir, this package, this Node). */
  readonly executable?: PluginExecutableOptions;
}

export interface InstalledFile {
  readonly path: string;
  readonly changed: boolean;
}

export interface InstallReport {
  readonly plugin: InstalledFile & { readonly sha256: string; readonly built: boolean; readonly buildMs?: number };
  readonly conflist: InstalledFile;
}

/** Thrown for a directory or socket path that is refused; the message names the flag, the value and the rule. */
export class InstallPathError extends Error {
  override readonly name = 'InstallPathError';
}

/**
 * An absolute, normalised path of bounded length with no `..` segment and no control characters: these paths come
 * from flags and environment, and the files written under them are executed as root by the runtime.
 */
export function checkPath(what: string, value: string, max = MAX_PATH): string {
  const refuse = (rule: string) =>
    new InstallPathError(`${what} ${JSON.stringify(value.slice(0, 200))} is refused: ${rule}`);
  if (value === '') throw refuse('it is empty');
  if (Buffer.byteLength(value) > max) throw refuse(`longer than ${max} bytes`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused.
  if (/[\u0000-\u001f\u007f]/.test(value)) throw refuse('it holds a control character');
  if (!isAbsolute(value)) throw refuse('it must be an absolute path');
  if (value.split('/').includes('..')) throw refuse('it must not contain a .. segment');
  return normalize(value).replace(/(.)\/+$/, '$1');
}

async function checkDirectory(what: string, path: string): Promise<void> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new InstallPathError(`${what} ${path} cannot be used: ${error.code ?? error.message}`);
  });
  if (!info.isDirectory()) throw new InstallPathError(`${what} ${path} is not a directory`);
}

/** A regular file with this mode (not a symlink someone planted: lstat) and these bytes. */
async function isInstalled(path: string, mode: number, same: () => Promise<boolean>): Promise<boolean> {
  const info = await lstat(path).catch(() => undefined);
  if (!info?.isFile() || (info.mode & 0o7777) !== mode) return false;
  return same();
}

export async function installCni(opts: InstallCniOptions): Promise<InstallReport> {
  const binDir = checkPath('the CNI bin dir', opts.binDir);
  const confDir = checkPath('the CNI conf dir', opts.confDir);
  const socketPath = checkPath('the agent socket', opts.socketPath, MAX_SOCKET_PATH);
  await checkDirectory('the CNI bin dir', binDir);
  await checkDirectory('the CNI conf dir', confDir);

  const executable = await pluginExecutable(opts.executable);
  const pluginPath = join(binDir, PLUGIN_NAME);
  const pluginChanged = !(await isInstalled(
    pluginPath,
    0o755,
    async () => (await sha256File(pluginPath)) === executable.sha256,
  ));
  if (pluginChanged) await replaceFile(pluginPath, { copyOf: executable.path }, 0o755);

  // The plugin first: a conflist that names a plugin not yet in place would fail the runtime's next ADD.
  const conflistPath = join(confDir, CONFLIST_NAME);
  const text = renderConflist(opts.netconf, socketPath);
  const conflistChanged = !(await isInstalled(
    conflistPath,
    0o644,
    async () => (await readFile(conflistPath, 'utf8')) === text,
  ));
  if (conflistChanged) await replaceFile(conflistPath, { data: text }, 0o644);

  return {
    plugin: {
      path: pluginPath,
      changed: pluginChanged,
      sha256: executable.sha256,
      built: executable.built,
      ...(executable.buildMs === undefined ? {} : { buildMs: executable.buildMs }),
    },
    conflist: { path: conflistPath, changed: conflistChanged },
  };
}
