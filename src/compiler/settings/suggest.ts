/** Prefixes of the Amazon VPC CNI's variables: an unknown environment variable with one of them is probably a typo. */
const OUR_PREFIXES = [
  'AWS_VPC_',
  'AWS_EXTERNAL_',
  'AWS_MANAGE_',
  'WARM_',
  'MINIMUM_',
  'MAX_ENI',
  'ENABLE_',
  'DISABLE_',
  'POD_',
  'ENI_CONFIG_',
  'VPC_CNI_',
  'IP_COOLDOWN',
  'MANAGE_',
  'ANNOTATE_',
  'HOST_CNI_',
  'INTROSPECTION_',
];

/** Variables that steer the vpc-cni program itself, not the node's configuration: shaped like ours, yet no typo. */
const PROGRAM_VARIABLES = new Set(['VPC_CNI_CACHE_DIR']);

export function looksLikeOurs(key: string): boolean {
  if (PROGRAM_VARIABLES.has(key)) return false;
  return OUR_PREFIXES.some((prefix) => key.toUpperCase().startsWith(prefix));
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** The closest known key, if it is close enough to be a plausible typo (case and `-`/`_` differences count as near). */
export function suggestKey(key: string, known: readonly string[]): string | undefined {
  const canonical = (s: string) => s.toUpperCase().replaceAll('-', '_');
  const limit = Math.max(2, Math.floor(key.length / 4));
  let best: { key: string; score: number; exact: number } | undefined;
  for (const candidate of known) {
    // The distance is at least the length difference: skipping those keeps a megabyte-long key from costing
    // a quadratic comparison with every setting.
    if (Math.abs(key.length - candidate.length) > limit) continue;
    const score = distance(canonical(key), canonical(candidate));
    // Ties go to the candidate spelled like the input (`warm-ip-targt` → `warm-ip-target`, not `WARM_IP_TARGET`).
    const exact = distance(key, candidate);
    if (best === undefined || score < best.score || (score === best.score && exact < best.exact))
      best = { key: candidate, score, exact };
  }
  if (best === undefined) return undefined;
  return best.score <= limit ? best.key : undefined;
}
