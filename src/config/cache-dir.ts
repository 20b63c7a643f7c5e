import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where vpc-cni keeps what it can recompute (the CUE catalog, V8's compiled code): `$VPC_CNI_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/vpc-cni`, else `~/.cache/vpc-cni`.
 */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VPC_CNI_CACHE_DIR) return env.VPC_CNI_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'vpc-cni');
}
