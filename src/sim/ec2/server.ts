import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AuditLog } from '../audit.ts';
import type { Faults } from '../faults.ts';
import { BodyTooLarge, readBody } from '../http.ts';
import type { Cloud } from '../model/cloud.ts';
import { type Profile, waitFor } from '../profile.ts';
import type { Throttle } from '../throttle.ts';
import { ec2Actions } from './actions/index.ts';
import { Ec2Error } from './errors.ts';
import { QueryParams } from './query.ts';
import { renderError, renderResponse } from './xml.ts';

export interface Ec2ServerOptions {
  readonly cloud: Cloud;
  readonly audit: AuditLog;
  readonly faults: Faults;
  readonly throttle: Throttle;
  readonly profile: () => Profile;
}

const API_VERSION = '2016-11-15';

/**
 * The EC2 Query API over HTTP: `POST /` with a form body, answered in EC2's XML. Each request goes through the same
 * gates as in AWS, in the same order: signature present, known action and version, throttling, then the action
 * itself (after its latency, so a slow attach is slow before it shows in the model).
 */
export function createEc2Server(options: Ec2ServerOptions): Server {
  return createServer((request, response) => {
    handle(options, request, response).catch((error: unknown) => {
      response.statusCode = 500;
      response.end(renderError('InternalError', `simulator bug: ${String(error)}`, randomUUID()));
    });
  });
}

async function handle(options: Ec2ServerOptions, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const started = performance.now();
  const requestId = randomUUID();
  const query = request.url?.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
  let params = QueryParams.parse('');
  let actionName = '';
  let status = 200;
  let outcome = 'ok';
  try {
    params = QueryParams.parse(request.method === 'POST' ? await body(request) : query);
    actionName = params.string('Action') ?? '';
    const result = await execute(options, request, params, actionName);
    send(response, 200, renderResponse(actionName, requestId, result));
  } catch (error) {
    if (!(error instanceof Ec2Error)) throw error;
    status = error.status;
    outcome = error.code;
    send(response, status, renderError(error.code, error.message, requestId));
  } finally {
    options.audit.record({
      service: 'ec2',
      action: actionName || '(none)',
      params: paramsForAudit(params),
      outcome,
      status,
      durationMs: performance.now() - started,
    });
  }
}

/**
 * EC2 refuses an oversized request with a client error; its catalogue has no code of its own for it, so the
 * simulator answers as the AWS front ends do (413), in EC2's error envelope, which the SDK reads as non-retryable.
 */
async function body(request: IncomingMessage): Promise<string> {
  try {
    return await readBody(request);
  } catch (error) {
    if (error instanceof BodyTooLarge) throw new Ec2Error('RequestEntityTooLarge', error.message, 413);
    throw error;
  }
}

async function execute(options: Ec2ServerOptions, request: IncomingMessage, params: QueryParams, actionName: string) {
  if (!request.headers.authorization?.startsWith('AWS4-HMAC-SHA256 ')) {
    throw new Ec2Error(
      'AuthFailure',
      'AWS was not able to validate the provided access credentials (no SigV4 Authorization header).',
      401,
    );
  }
  const action = ec2Actions.get(actionName);
  if (action === undefined) {
    throw new Ec2Error('InvalidAction', `The action ${actionName || '(missing)'} is not valid for this web service.`);
  }
  if (params.string('Version') !== API_VERSION) {
    throw new Ec2Error(
      'InvalidParameterValue',
      `Version must be ${API_VERSION}, got ${params.string('Version') ?? '(missing)'}.`,
    );
  }
  if (!options.throttle.take(action.throttle(params))) {
    throw new Ec2Error('RequestLimitExceeded', 'Request limit exceeded.', 503);
  }
  await options.faults.ec2Turn();
  const injected = options.faults.take(action.name);
  if (injected !== undefined) {
    throw new Ec2Error(injected.code, injected.message ?? `injected fault on ${action.name}`, injected.status ?? 400);
  }
  await waitFor(options.profile().ec2[action.latency]);
  const body = action.run(options.cloud, params);
  options.faults.succeeded(action.name);
  return body;
}

function send(response: ServerResponse, status: number, xml: string): void {
  response.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8', 'content-length': Buffer.byteLength(xml) });
  response.end(xml);
}

function paramsForAudit(params: QueryParams): Record<string, string> {
  const all = Object.fromEntries(params.entries());
  delete all.Action;
  delete all.Version;
  return all;
}
