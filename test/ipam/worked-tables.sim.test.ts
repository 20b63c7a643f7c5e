/**
 * The Amazon VPC CNI's worked tables (its repository's docs/eni-and-ip-target.md and docs/prefix-and-ip-target.md), produced by the real engine against the EC2 simulator: pods are added one at a time,
 * the pool settles, and the ENIs/addresses EC2 ends up holding must match the table row.
 */
import test, { type ExecutionContext } from 'ava';
import { testConfig } from '../../src/compiler/settings/index.ts';
import { addPod, outcome, settle, startNode } from '../../src/harness/simulate.ts';

interface Row {
  readonly instanceType: string;
  readonly env: Readonly<Record<string, string>>;
  readonly pods: number;
  /** Secondary /32s per ENI, by device number (secondary mode). */
  readonly ipsPerEni?: readonly number[];
  /** /28 prefixes per ENI and pods per ENI, by device number (prefix mode). */
  readonly prefixesPerEni?: readonly number[];
  readonly podsPerEni?: readonly number[];
  /** Addresses held but unused. */
  readonly unused: number;
}

const worked = test.macro(async (t: ExecutionContext, row: Row) => {
  const node = await startNode({ instanceType: row.instanceType, config: testConfig(row.env) });
  t.teardown(() => node.close());
  await settle(node);
  for (let n = 1; n <= row.pods; n++) t.is(await addPod(node, n), undefined, `pod ${n} got an address`);
  await settle(node);
  const result = outcome(node, row.instanceType, row.pods, []);
  if (row.ipsPerEni !== undefined) {
    t.deepEqual(
      result.enis.map((e) => e.ips),
      [...row.ipsPerEni],
    );
  }
  if (row.prefixesPerEni !== undefined) {
    t.deepEqual(
      result.enis.map((e) => e.prefixes),
      [...row.prefixesPerEni],
    );
  }
  if (row.podsPerEni !== undefined) {
    t.deepEqual(
      result.enis.map((e) => e.pods),
      [...row.podsPerEni],
    );
  }
  t.is(result.idleAddresses, row.unused);
  // EC2 (the simulator's model) holds exactly what the engine believes.
  const inEc2 = [...node.sims.model.enis.values()]
    .filter((e) => e.attachment?.instanceId === node.sims.instance.id)
    .sort((a, b) => a.attachment!.deviceIndex - b.attachment!.deviceIndex)
    .map((e) => ({ ips: e.privateIps.length - 1, prefixes: e.prefixes.length }));
  t.deepEqual(
    inEc2,
    result.enis.map((e) => ({ ips: e.ips, prefixes: e.prefixes })),
  );
});

const WARM_ENI_1 = { WARM_ENI_TARGET: '1' };
const WARM_1_MIN_1 = { WARM_IP_TARGET: '1', MINIMUM_IP_TARGET: '1' };
const WARM_2_MIN_5 = { WARM_IP_TARGET: '2', MINIMUM_IP_TARGET: '5' };
const WARM_5_MIN_10 = { WARM_IP_TARGET: '5', MINIMUM_IP_TARGET: '10' };
const PD = { ENABLE_PREFIX_DELEGATION: 'true' };

// The Amazon VPC CNI's docs/eni-and-ip-target.md
const secondary: Array<[string, Record<string, string>, number, number[], number]> = [
  ['t3.small', WARM_ENI_1, 0, [3], 3],
  ['t3.small', WARM_ENI_1, 5, [3, 3, 3], 4],
  ['t3.small', WARM_ENI_1, 9, [3, 3, 3], 0],
  ['t3.small', WARM_1_MIN_1, 0, [1], 1],
  ['t3.small', WARM_1_MIN_1, 5, [3, 3], 1],
  ['t3.small', WARM_1_MIN_1, 9, [3, 3, 3], 0],
  // The doc lists "2,3"; by device number the primary fills first (3) and the second ENI gets the other 2.
  ['t3.small', WARM_2_MIN_5, 0, [3, 2], 5],
  ['t3.small', WARM_2_MIN_5, 5, [3, 3, 1], 2],
  ['t3.small', WARM_2_MIN_5, 9, [3, 3, 3], 0],
  ['p3dn.24xlarge', WARM_ENI_1, 0, [49], 49],
  ['p3dn.24xlarge', WARM_ENI_1, 3, [49, 49], 95],
  ['p3dn.24xlarge', WARM_ENI_1, 95, [49, 49, 49], 52],
  ['p3dn.24xlarge', WARM_5_MIN_10, 0, [10], 10],
  ['p3dn.24xlarge', WARM_5_MIN_10, 7, [12], 5],
  ['p3dn.24xlarge', WARM_5_MIN_10, 15, [20], 5],
  ['p3dn.24xlarge', WARM_5_MIN_10, 45, [49, 1], 5],
];
for (const [instanceType, env, pods, ipsPerEni, unused] of secondary) {
  test(`${instanceType} ${JSON.stringify(env)} with ${pods} pods holds ${ipsPerEni.join(',')}`, worked, {
    instanceType,
    env,
    pods,
    ipsPerEni,
    unused,
  });
}

// The Amazon VPC CNI's docs/prefix-and-ip-target.md. Rows the reference notes call doc artefacts (a second ENI with 0
// prefixes on p3dn.24xlarge, "1 (sic)" prefix for 7/20 with 0 pods) are stated as ipamd's code computes them.
const prefix: Array<[string, Record<string, string>, number, number[], number[], number]> = [
  ['t3.small', { WARM_PREFIX_TARGET: '1' }, 0, [1], [0], 16],
  ['t3.small', { WARM_PREFIX_TARGET: '1' }, 5, [2], [5], 27],
  ['t3.small', { WARM_PREFIX_TARGET: '1' }, 16, [2], [16], 16],
  ['t3.small', { WARM_PREFIX_TARGET: '1' }, 17, [3], [17], 31],
  ['t3.small', { WARM_PREFIX_TARGET: '1' }, 58, [3, 2], [48, 10], 22],
  ['t3.small', WARM_1_MIN_1, 0, [1], [0], 16],
  ['t3.small', WARM_1_MIN_1, 5, [1], [5], 11],
  ['t3.small', WARM_1_MIN_1, 17, [2], [17], 15],
  ['t3.small', WARM_1_MIN_1, 58, [3, 1], [48, 10], 6],
  ['t3.small', { WARM_IP_TARGET: '7', MINIMUM_IP_TARGET: '20' }, 0, [2], [0], 32],
  ['t3.small', { WARM_IP_TARGET: '7', MINIMUM_IP_TARGET: '20' }, 5, [2], [5], 27],
  ['t3.small', { WARM_IP_TARGET: '7', MINIMUM_IP_TARGET: '20' }, 17, [2], [17], 15],
  ['t3.small', { WARM_IP_TARGET: '7', MINIMUM_IP_TARGET: '20' }, 58, [3, 2], [48, 10], 22],
  ['p3dn.24xlarge', { WARM_PREFIX_TARGET: '1' }, 0, [1], [0], 16],
  ['p3dn.24xlarge', { WARM_PREFIX_TARGET: '1' }, 3, [2], [3], 29],
  ['p3dn.24xlarge', { WARM_PREFIX_TARGET: '1' }, 95, [7], [95], 17],
  ['p3dn.24xlarge', WARM_5_MIN_10, 0, [1], [0], 16],
  ['p3dn.24xlarge', WARM_5_MIN_10, 7, [1], [7], 9],
  ['p3dn.24xlarge', WARM_5_MIN_10, 15, [2], [15], 17],
  ['p3dn.24xlarge', WARM_5_MIN_10, 45, [4], [45], 19],
];
for (const [instanceType, env, pods, prefixesPerEni, podsPerEni, unused] of prefix) {
  test(
    `PD ${instanceType} ${JSON.stringify(env)} with ${pods} pods holds ${prefixesPerEni.join(',')} prefixes`,
    worked,
    {
      instanceType,
      env: { ...PD, ...env },
      pods,
      prefixesPerEni,
      podsPerEni,
      unused,
    },
  );
}
