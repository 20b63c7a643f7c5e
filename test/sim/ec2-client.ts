import { EC2Client } from '@aws-sdk/client-ec2';
import type { Simulators } from '../../src/sim/index.ts';

/** The real EC2 client against the simulator; one attempt, so every simulated error reaches the test as thrown. */
export function ec2Client(sims: Simulators): EC2Client {
  return new EC2Client({
    endpoint: sims.ec2Url,
    region: sims.region,
    credentials: { accessKeyId: 'AKIDSIMULATOR', secretAccessKey: 'simulator' },
    maxAttempts: 1,
  });
}

/** Runs `call` and returns the EC2 error code it failed with (the SDK puts the code in `name`). */
export async function errorCode(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    return (error as Error).name;
  }
  return 'no error';
}
