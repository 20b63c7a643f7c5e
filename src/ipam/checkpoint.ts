/**
 * The assignment checkpoint in the Amazon VPC CNI's `vpc-cni-ipam/1` format (only assigned addresses; ENIs and CIDRs
 * are rediscovered), so a node switching from aws-node keeps its pods' addresses and back. Written atomically: a temp
 * file in the same directory, fsync, rename, fsync of the directory.
 */
import { rename } from 'node:fs/promises';
import * as z from 'zod';
import { describeIssues, plainMessages } from '../lib/issues.ts';
import { replaceFile } from '../node/atomic-file.ts';
import { readBoundedFile, UnreadableFileError } from '../node/bounded-file.ts';
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

/** Far above any node's pods (ipamd's largest max-pods is 737) yet small enough to read without a second thought. */
export const MAX_CHECKPOINT_ALLOCATIONS = 4096;
/** The file's size bound: MAX_CHECKPOINT_ALLOCATIONS entries of about 300 bytes each, with room to spare. */
export const MAX_CHECKPOINT_BYTES = 4 * 1024 * 1024;

/** Kubernetes object names are at most 253 characters (DNS subdomains); container IDs are 64 hex digits. */
const name = z.string().min(1).max(253);
const entrySchema = z.object({
  networkName: name,
  containerID: name,
  // The kernel's IFNAMSIZ: 15 characters and the terminator.
  ifName: z.string().min(1).max(15),
  ipv4: z.ipv4(),
  allocationTimestamp: z
    .union([
      z.bigint().nonnegative(),
      z
        .number()
        .int()
        .nonnegative()
        .transform((n) => BigInt(n)),
    ])
    .optional(),
  metadata: z
    .object({
      k8sPodNamespace: name.optional(),
      k8sPodName: name.optional(),
      interfacesCount: z.number().int().min(0).max(64).optional(),
    })
    .optional(),
});
const documentSchema = z.object({
  version: z.literal(CHECKPOINT_VERSION),
  allocations: z.array(entrySchema).max(MAX_CHECKPOINT_ALLOCATIONS),
});

/** Parses checkpoint text; throws CheckpointError (and nothing else) naming the problems, field and value. */
export function parseCheckpoint(path: string, content: string): CheckpointEntry[] {
  if (content.length > MAX_CHECKPOINT_BYTES) {
    throw new CheckpointError('corrupt', path, `larger than ${MAX_CHECKPOINT_BYTES} bytes`);
  }
  let doc: unknown;
  try {
    // Unix nanoseconds exceed 2^53: keep their exact digits through the reviver's source text.
    doc = JSON.parse(content, (key, value, context?: { source?: string }) =>
      key === 'allocationTimestamp' && typeof value === 'number' && /^\d{1,20}$/.test(context?.source ?? '')
        ? BigInt(context!.source!)
        : value,
    );
  } catch (error) {
    throw new CheckpointError('corrupt', path, `not valid JSON (${(error as Error).message})`, error);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new CheckpointError('corrupt', path, 'not a JSON object');
  }
  const version = (doc as { version?: unknown }).version;
  if (version !== CHECKPOINT_VERSION) {
    const shown = JSON.stringify(version)?.slice(0, 80) ?? 'absent';
    throw new CheckpointError('unknown_version', path, `version ${shown} is not ${JSON.stringify(CHECKPOINT_VERSION)}`);
  }
  const parsed = documentSchema.safeParse(doc, { error: plainMessages });
  if (!parsed.success) {
    throw new CheckpointError('corrupt', path, describeIssues(parsed.error, doc).join('; '), parsed.error);
  }
  return parsed.data.allocations.map((raw) => {
    const m = raw.metadata ?? {};
    const metadata: OwnerMetadata = {
      ...(m.k8sPodNamespace !== undefined ? { k8sPodNamespace: m.k8sPodNamespace } : {}),
      ...(m.k8sPodName !== undefined ? { k8sPodName: m.k8sPodName } : {}),
      ...(m.interfacesCount !== undefined ? { interfacesCount: m.interfacesCount } : {}),
    };
    return {
      owner: { networkName: raw.networkName, containerId: raw.containerID, ifName: raw.ifName },
      ip: raw.ipv4,
      metadata,
      assignedAtNs: raw.allocationTimestamp ?? 0n,
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

/**
 * Reads the checkpoint; a missing file is a fresh node (empty list). Anything but a regular file of bounded size (a
 * FIFO, /dev/zero, a runaway write) is refused like a corrupt one, without reading past the bound.
 */
export async function readCheckpoint(path: string): Promise<CheckpointEntry[]> {
  let content: string | undefined;
  try {
    content = await readBoundedFile(path, MAX_CHECKPOINT_BYTES);
  } catch (error) {
    if (error instanceof UnreadableFileError) throw new CheckpointError('corrupt', path, error.message, error);
    throw error;
  }
  return content === undefined ? [] : parseCheckpoint(path, content);
}

/** Writes the checkpoint atomically: a reader sees the old file or the new one, never a torn one. */
export function writeCheckpoint(path: string, entries: readonly CheckpointEntry[]): Promise<void> {
  return replaceFile(path, { data: renderCheckpoint(entries) }, 0o600);
}

/** Moves an untrusted checkpoint aside (never deleted) so an operator can inspect it. Returns the new path. */
export async function setAside(path: string, nowMs: number): Promise<string> {
  const target = `${path}.refused-${nowMs}`;
  await rename(path, target);
  return target;
}
