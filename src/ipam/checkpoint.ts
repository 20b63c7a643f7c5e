/**
 * The assignment checkpoint in the Amazon VPC CNI's `vpc-cni-ipam/1` format (only assigned addresses; ENIs and CIDRs
 * are rediscovered), so a node switching from aws-node keeps its pods' addresses and back. Written atomically: a temp
 * file in the same directory, fsync, rename, fsync of the directory.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Owner, OwnerMetadata } from './datastore.ts';

export const CHECKPOINT_VERSION = 'vpc-cni-ipam/1';

export interface CheckpointEntry {
  readonly owner: Owner;
  readonly ip: string;
  readonly metadata: OwnerMetadata;
  readonly assignedAtNs: bigint;
}

export type CheckpointProblem = 'corrupt' | 'unknown_version';

/** A checkpoint that exists but cannot be trusted; the caller recovers from EC2 and the kernel instead. */
export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
  readonly kind: CheckpointProblem;
  readonly path: string;

  constructor(kind: CheckpointProblem, path: string, detail: string, cause?: unknown) {
    super(`checkpoint ${path}: ${detail}`, { cause });
    this.kind = kind;
    this.path = path;
  }
}

interface RawEntry {
  networkName?: unknown;
  containerID?: unknown;
  ifName?: unknown;
  ipv4?: unknown;
  allocationTimestamp?: unknown;
  metadata?: { k8sPodNamespace?: unknown; k8sPodName?: unknown; interfacesCount?: unknown };
}

function text(v: unknown): v is string {
  return typeof v === 'string';
}

/** Parses checkpoint text; throws CheckpointError naming the first problem. */
export function parseCheckpoint(path: string, content: string): CheckpointEntry[] {
  let doc: { version?: unknown; allocations?: unknown };
  try {
    // Unix nanoseconds exceed 2^53: keep their exact digits through the reviver's source text.
    doc = JSON.parse(content, (key, value, context?: { source?: string }) =>
      key === 'allocationTimestamp' && typeof value === 'number' && context?.source !== undefined
        ? BigInt(context.source)
        : value,
    );
  } catch (error) {
    throw new CheckpointError('corrupt', path, `not valid JSON (${(error as Error).message})`, error);
  }
  if (typeof doc !== 'object' || doc === null) throw new CheckpointError('corrupt', path, 'not a JSON object');
  if (doc.version !== CHECKPOINT_VERSION) {
    throw new CheckpointError(
      'unknown_version',
      path,
      `version ${JSON.stringify(doc.version)} is not ${JSON.stringify(CHECKPOINT_VERSION)}`,
    );
  }
  if (!Array.isArray(doc.allocations)) throw new CheckpointError('corrupt', path, '"allocations" is not an array');
  return doc.allocations.map((raw: RawEntry, i: number) => {
    if (!text(raw.networkName) || !text(raw.containerID) || !text(raw.ifName) || !text(raw.ipv4)) {
      throw new CheckpointError('corrupt', path, `allocations[${i}] lacks networkName, containerID, ifName or ipv4`);
    }
    const ts = raw.allocationTimestamp;
    const m = raw.metadata ?? {};
    const metadata: OwnerMetadata = {
      ...(text(m.k8sPodNamespace) ? { k8sPodNamespace: m.k8sPodNamespace } : {}),
      ...(text(m.k8sPodName) ? { k8sPodName: m.k8sPodName } : {}),
      ...(typeof m.interfacesCount === 'number' ? { interfacesCount: m.interfacesCount } : {}),
    };
    return {
      owner: { networkName: raw.networkName, containerId: raw.containerID, ifName: raw.ifName },
      ip: raw.ipv4,
      metadata,
      assignedAtNs: typeof ts === 'bigint' ? ts : BigInt(typeof ts === 'number' ? Math.trunc(ts) : 0),
    };
  });
}

export function renderCheckpoint(entries: readonly CheckpointEntry[]): string {
  const allocations = entries.map((e) => ({
    networkName: e.owner.networkName,
    containerID: e.owner.containerId,
    ifName: e.owner.ifName,
    ipv4: e.ip,
    allocationTimestamp: `@ns:${e.assignedAtNs}`,
    ...(Object.keys(e.metadata).length > 0 ? { metadata: e.metadata } : {}),
  }));
  // JSON has no bigint: write the nanoseconds as a bare number, as ipamd's Go encoder does.
  const json = JSON.stringify({ version: CHECKPOINT_VERSION, allocations }).replace(/"@ns:(\d+)"/g, '$1');
  return `${json}\n`;
}

/** Reads the checkpoint; a missing file is a fresh node (empty list). */
export async function readCheckpoint(path: string): Promise<CheckpointEntry[]> {
  let content: string;
  try {
    content = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return parseCheckpoint(path, content);
}

/** Writes the checkpoint atomically: a reader sees the old file or the new one, never a torn one. */
export async function writeCheckpoint(path: string, entries: readonly CheckpointEntry[]): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const file = await open(temp, 'w', 0o600);
  try {
    await file.writeFile(renderCheckpoint(entries));
    await file.sync();
  } catch (error) {
    await file.close();
    await rm(temp, { force: true });
    throw error;
  }
  await file.close();
  try {
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

/** Moves an untrusted checkpoint aside (never deleted) so an operator can inspect it. Returns the new path. */
export async function setAside(path: string, nowMs: number): Promise<string> {
  const target = `${path}.refused-${nowMs}`;
  await rename(path, target);
  return target;
}
