import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The single-executable cache the tests share across runs and worker processes. Entries are keyed by the bundle's
 * bytes and the Node binary, so a stale entry cannot be found; sharing it spares each run the ~5 s build.
 */
export const TEST_SEA_CACHE = join(tmpdir(), 'vpc-cni-test-sea-cache');
