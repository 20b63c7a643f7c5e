import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AuditLog } from '../audit.ts';
import type { Faults } from '../faults.ts';
import { BodyTooLarge, readBody } from '../http.ts';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, VERSION } from './discovery.ts';
import { badRequest, KubeError } from './errors.ts';
import { type ResourceType, resourceFor } from './resources.ts';
import { fieldSelector, type KubeObject, labelSelector } from './selectors.ts';
import type { ObjectStore } from './store.ts';
import { renderTable } from './table.ts';
import { serveWatch } from './watch.ts';

export interface KubernetesServerOptions {
  readonly store: ObjectStore;
  readonly audit: AuditLog;
  readonly faults: Faults;
  readonly bookmarkIntervalMs: number;
}

interface Target {
  readonly type: ResourceType;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly subresource?: string;
}

/** The Kubernetes API over plain HTTP: discovery, then get/list/watch/create/update/patch/delete on RESOURCES. */
export function createKubernetesServer(options: KubernetesServerOptions): Server {
  return createServer((request, response) => {
    const started = performance.now();
    const url = new URL(request.url ?? '/', 'http://kubernetes');
    const access = accessOf(request.method ?? 'GET', url);
    handle(options, request, response)
      .catch((error: unknown) =>
        error instanceof KubeError ? error : new KubeError(500, 'InternalError', `simulator bug: ${String(error)}`),
      )
      .then((failure) => {
        if (failure instanceof KubeError && !response.headersSent) sendJson(response, failure.code, failure.toStatus());
        options.audit.record({
          service: 'kubernetes',
          action: `${request.method} ${url.pathname}`,
          params: access === undefined ? {} : { ...access },
          outcome: failure instanceof KubeError ? failure.reason : 'ok',
          status: failure instanceof KubeError ? failure.code : response.statusCode,
          durationMs: performance.now() - started,
        });
      });
  });
}

async function handle(
  options: KubernetesServerOptions,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://kubernetes');
  const discovery = discover(url.pathname, request.headers.host ?? '127.0.0.1');
  if (discovery !== undefined) return sendJson(response, 200, discovery);
  const target = parsePath(url.pathname);
  if (target === undefined)
    throw new KubeError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
  const { store } = options;
  const { type, namespace, name } = target;
  const method = request.method ?? 'GET';
  if (method === 'GET' && name === undefined) {
    const matches = and(
      labelSelector(url.searchParams.get('labelSelector')),
      fieldSelector(url.searchParams.get('fieldSelector')),
    );
    const watch = url.searchParams.get('watch');
    if (watch === 'true' || watch === '1') {
      const timeout = url.searchParams.get('timeoutSeconds');
      await serveWatch(
        store,
        options.faults,
        {
          type,
          namespace,
          matches,
          resourceVersion: url.searchParams.get('resourceVersion'),
          allowBookmarks: url.searchParams.get('allowWatchBookmarks') === 'true',
          timeoutSeconds: timeout === null ? undefined : Number(timeout),
          bookmarkIntervalMs: options.bookmarkIntervalMs,
        },
        response,
      );
      return;
    }
    const items = store.list(type, namespace).filter(matches);
    return sendObjects(request, response, type, items, String(store.revision));
  }
  if (name === undefined && method !== 'POST')
    throw new KubeError(405, 'MethodNotAllowed', `${method} is not allowed on a collection`);
  switch (method) {
    case 'GET':
      return sendObjects(request, response, type, [store.get(type, namespace, name!)], undefined);
    case 'POST': {
      const body = await readJson(request);
      const object = { ...body, metadata: { ...body.metadata, ...(namespace ? { namespace } : {}) } };
      return sendJson(response, 201, store.create(type, object));
    }
    case 'PUT':
      return sendJson(response, 200, store.replace(type, namespace, name!, await readJson(request)));
    case 'PATCH':
      return sendJson(
        response,
        200,
        store.patch(type, namespace, name!, request.headers['content-type'] ?? '', await readJson(request)),
      );
    case 'DELETE':
      return sendJson(response, 200, store.delete(type, namespace, name!));
    default:
      throw new KubeError(405, 'MethodNotAllowed', `${method} is not supported`);
  }
}

function discover(path: string, host: string): unknown {
  if (path === '/version') return VERSION;
  if (path === '/api') return apiVersions(host);
  if (path === '/apis') return apiGroupList();
  if (path === '/api/v1') return apiResourceList('', 'v1');
  const group = /^\/apis\/([^/]+)$/.exec(path);
  if (group) return apiGroup(group[1]!);
  const groupVersion = /^\/apis\/([^/]+)\/([^/]+)$/.exec(path);
  return groupVersion ? apiResourceList(groupVersion[1]!, groupVersion[2]!) : undefined;
}

/**
 * A request as RBAC names it (the verb, API group, resource and namespace an authorizer checks), so a test can compare
 * what a client did with what its ClusterRole grants. Discovery and unknown paths are not resource requests.
 */
export interface ResourceAccess {
  readonly verb: string;
  readonly group: string;
  readonly resource: string;
  /** '' for a cluster-scoped resource or a request across all namespaces. */
  readonly namespace: string;
}

function accessOf(method: string, url: URL): ResourceAccess | undefined {
  const target = parsePath(url.pathname);
  if (target === undefined) return undefined;
  const watch = url.searchParams.get('watch');
  const verbs: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };
  const verb =
    method === 'GET'
      ? target.name !== undefined
        ? 'get'
        : watch === 'true' || watch === '1'
          ? 'watch'
          : 'list'
      : (verbs[method] ?? method.toLowerCase());
  const subresource = target.subresource === undefined ? '' : `/${target.subresource}`;
  return {
    verb,
    group: target.type.group,
    resource: `${target.type.plural}${subresource}`,
    namespace: target.namespace ?? '',
  };
}

/** `/api/v1[/namespaces/NS]/PLURAL[/NAME[/status]]` and `/apis/GROUP/VERSION[/namespaces/NS]/PLURAL[/NAME[/status]]`. */
function parsePath(path: string): Target | undefined {
  const parts = path.split('/').filter(Boolean);
  let group = '';
  let rest: string[];
  if (parts[0] === 'api' && parts[1] === 'v1') rest = parts.slice(2);
  else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1]!;
    rest = parts.slice(3);
  } else return undefined;
  const version = parts[0] === 'api' ? 'v1' : parts[2]!;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length > 3 || (rest.length === 3 && rest[2] !== 'status')) return undefined;
  const type = resourceFor(group, version, rest[0] ?? '');
  if (type === undefined || (namespace !== undefined && !type.namespaced)) return undefined;
  return { type, namespace, name: rest[1], ...(rest[2] === undefined ? {} : { subresource: rest[2] }) };
}

/** A list (when `listVersion` is given: the store's revision, which a watch can start from) or one object. */
function sendObjects(
  request: IncomingMessage,
  response: ServerResponse,
  type: ResourceType,
  items: KubeObject[],
  listVersion: string | undefined,
): void {
  const resourceVersion = listVersion ?? items[0]?.metadata.resourceVersion ?? '';
  let body: unknown = items[0];
  if ((request.headers.accept ?? '').includes('as=Table')) body = renderTable(type, items, resourceVersion);
  else if (listVersion !== undefined)
    body = {
      kind: `${type.kind}List`,
      apiVersion: items[0]?.apiVersion ?? (type.group ? `${type.group}/${type.version}` : 'v1'),
      metadata: { resourceVersion },
      items,
    };
  sendJson(response, 200, body);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

async function readJson(request: IncomingMessage): Promise<KubeObject> {
  let text: string;
  try {
    text = await readBody(request);
  } catch (error) {
    // As the API server words it (apiserver's handlers/rest: "Request entity too large: limit is 3145728").
    if (error instanceof BodyTooLarge)
      throw new KubeError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${error.limit}`);
    throw error;
  }
  try {
    return JSON.parse(text) as KubeObject;
  } catch {
    throw badRequest(`the request body is not JSON: ${text.slice(0, 80)}`);
  }
}

function and(a: (o: KubeObject) => boolean, b: (o: KubeObject) => boolean) {
  return (object: KubeObject) => a(object) && b(object);
}
