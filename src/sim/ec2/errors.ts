/**
 * An EC2 API error as the wire carries it: a code from EC2's error catalogue and an HTTP status. The SDK turns the
 * code into the exception's `name`, so tests and the agent see exactly what they would see from AWS.
 */
export class Ec2Error extends Error {
  override readonly name = 'Ec2Error';
  readonly code: string;
  readonly status: number;

  constructor(code: string, message: string, status = 400) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

const NOT_FOUND = {
  networkInterface: 'InvalidNetworkInterfaceID.NotFound',
  subnet: 'InvalidSubnetID.NotFound',
  instance: 'InvalidInstanceID.NotFound',
  attachment: 'InvalidAttachmentID.NotFound',
  group: 'InvalidGroup.NotFound',
  instanceType: 'InvalidInstanceType',
} as const;

/** The `*.NotFound` error EC2 answers for an unknown id, worded as EC2 words it. */
export function notFound(kind: keyof typeof NOT_FOUND, id: string): Ec2Error {
  return new Ec2Error(NOT_FOUND[kind], `The ${kind} ID '${id}' does not exist`);
}

export function invalidParameter(message: string): Ec2Error {
  return new Ec2Error('InvalidParameterValue', message);
}

export function missingParameter(name: string): Ec2Error {
  return new Ec2Error('MissingParameter', `The request must contain the parameter ${name}`);
}
