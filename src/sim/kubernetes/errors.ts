/** A Kubernetes API error; rendered as a `Status` object, which the clients turn into their typed errors. */
export class KubeError extends Error {
  override readonly name = 'KubeError';
  readonly code: number;
  readonly reason: string;

  constructor(code: number, reason: string, message: string) {
    super(message);
    this.code = code;
    this.reason = reason;
  }

  toStatus() {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
  }
}

export const notFound = (plural: string, name: string) =>
  new KubeError(404, 'NotFound', `${plural} "${name}" not found`);
export const badRequest = (message: string) => new KubeError(400, 'BadRequest', message);
export const invalid = (message: string) => new KubeError(422, 'Invalid', message);
