/**
 * EC2 failures as a small closed set of kinds (nmstate's ErrorKind idea): the retry loop asks `retryable(kind)` and
 * the shortage reason is derived from the kind, instead of either matching message text.
 */
export type CloudErrorKind =
  | 'throttled'
  | 'subnet_full'
  | 'insufficient_cidr'
  | 'eni_limit'
  | 'ip_limit'
  | 'not_found'
  | 'unauthorized'
  | 'invalid'
  | 'unavailable'
  | 'bug';

export class CloudError extends Error {
  override readonly name = 'CloudError';
  readonly kind: CloudErrorKind;
  /** The EC2 error code (or the transport error's name). */
  readonly code: string;
  readonly action: string;

  constructor(kind: CloudErrorKind, code: string, action: string, message: string, cause?: unknown) {
    super(`${action}: ${code}: ${message}`, { cause });
    this.kind = kind;
    this.code = code;
    this.action = action;
  }
}

const KINDS: Record<string, CloudErrorKind> = {
  RequestLimitExceeded: 'throttled',
  Throttling: 'throttled',
  ThrottlingException: 'throttled',
  InsufficientFreeAddressesInSubnet: 'subnet_full',
  InsufficientCidrBlocks: 'insufficient_cidr',
  AttachmentLimitExceeded: 'eni_limit',
  PrivateIpAddressLimitExceeded: 'ip_limit',
  UnauthorizedOperation: 'unauthorized',
  AuthFailure: 'unauthorized',
  InternalError: 'unavailable',
  InternalFailure: 'unavailable',
  ServiceUnavailable: 'unavailable',
  Unavailable: 'unavailable',
  MissingParameter: 'invalid',
  InvalidParameterValue: 'invalid',
  InvalidParameterCombination: 'invalid',
};

const TRANSPORT = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'TimeoutError']);

/** Maps whatever the SDK threw to a CloudError. */
export function classify(error: unknown, action: string): CloudError {
  if (error instanceof CloudError) return error;
  const e = error as { name?: string; code?: string; Code?: string; message?: string };
  const code = e.Code ?? (e.name && e.name !== 'Error' ? e.name : undefined) ?? e.code ?? 'Unknown';
  const kind: CloudErrorKind =
    KINDS[code] ?? (code.endsWith('.NotFound') ? 'not_found' : TRANSPORT.has(code) ? 'unavailable' : 'bug');
  return new CloudError(kind, code, action, e.message ?? String(error), error);
}

export function retryable(kind: CloudErrorKind): boolean {
  return kind === 'throttled' || kind === 'unavailable';
}
