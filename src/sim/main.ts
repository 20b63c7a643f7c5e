import { parseArgs } from 'node:util';
import { startSimulators } from './index.ts';

const HELP = `Usage: npm run sim -- [options]

Starts the EC2, IMDS and Kubernetes API simulators on 127.0.0.1 for one instance in a simulated VPC, prints one
JSON line {"ec2":URL,"imds":URL,"kubernetes":URL,"kubeconfig":PATH,...} on stdout and serves until killed.

Point clients at them with:
  AWS_ENDPOINT_URL_EC2=<ec2>  AWS_EC2_METADATA_SERVICE_ENDPOINT=<imds>  KUBECONFIG=<kubeconfig>

Options:
  --instance-type T   instance type of the node (a key of src/data/instance-limits.json); default m5.large
  --profile P         fast (no latency) or realistic (AWS-like latency, IMDS lags EC2); default realistic
  --port-base N       EC2 on N, IMDS on N+1, Kubernetes on N+2; default: free ports
  --no-throttle       turn EC2 throttling (RequestLimitExceeded) off
  --audit             print every call as a JSON line on stderr
  --node-netns NAME   (root) lay the node out in network namespace NAME, created, with the VPC fabric in NAME-vpc;
                      ENIs attached through EC2 appear in NAME as eth1, eth2... The JSON line then also has
                      nodeNetns, vpcNetns, vpcPeer and internetPeer; both namespaces are removed on exit
  -h, --help          this text
`;

async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      'instance-type': { type: 'string', default: 'm5.large' },
      profile: { type: 'string', default: 'realistic' },
      'port-base': { type: 'string' },
      'no-throttle': { type: 'boolean', default: false },
      audit: { type: 'boolean', default: false },
      'node-netns': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const profile = values.profile;
  if (profile !== 'fast' && profile !== 'realistic')
    throw new Error(`--profile must be fast or realistic, got ${profile}`);
  const base = values['port-base'] === undefined ? undefined : Number(values['port-base']);
  if (base !== undefined && !(Number.isInteger(base) && base > 0 && base < 65534)) {
    throw new Error(`--port-base must be a port number from 1 to 65533, got ${values['port-base']}`);
  }
  const sims = await startSimulators({
    instanceType: values['instance-type'],
    profile,
    ports: base === undefined ? undefined : { ec2: base, imds: base + 1, kubernetes: base + 2 },
    throttle: values['no-throttle'] ? false : undefined,
    nodeNetns: values['node-netns'],
  });
  if (values.audit) sims.audit.onEntry((entry) => process.stderr.write(`${JSON.stringify(entry)}\n`));
  const ready = {
    ec2: sims.ec2Url,
    imds: sims.imdsUrl,
    kubernetes: sims.kubernetesUrl,
    kubeconfig: sims.kubeconfigPath,
    region: sims.region,
    instanceId: sims.instance.id,
    instanceType: sims.instance.type,
    nodeName: sims.nodeName,
    vpcId: sims.model.vpcId,
    primaryIp: sims.model.eni(sims.instance.primaryEniId).privateIps[0]!.address,
    profile,
    ...(sims.node === undefined
      ? {}
      : {
          nodeNetns: sims.node.netns,
          vpcNetns: sims.node.vpcNetns,
          vpcPeer: sims.node.vpcPeer,
          internetPeer: sims.node.internetPeer,
        }),
  };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await sims.close();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`sim: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
