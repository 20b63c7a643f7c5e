/**
 * Where the apply lock of a network namespace lives. The applier (CLI and agent) holds it around every read-diff-write;
 * the CNI plugin takes it around its host-side writes, so the agent never plans from a pod that is half wired.
 * Namespaces are keyed by their nsfs inode, so every name of one namespace finds the same file.
 */
export const LOCK_DIR = '/run/vpc-cni';

export function applyLockFile(dir: string, netnsInode: number | bigint): string {
  return `${dir}/apply-net-${netnsInode}.lock`;
}
