import type { ServerResponse } from 'node:http';
import type { Faults } from '../faults.ts';
import { KubeError } from './errors.ts';
import { apiVersionOf, type ResourceType } from './resources.ts';
import type { Selector } from './selectors.ts';
import type { ObjectStore, WatchEvent } from './store.ts';

export interface WatchRequest {
  readonly type: ResourceType;
  readonly namespace: string | undefined;
  readonly matches: Selector;
  /** Absent or "0": start with ADDED for every current object (the apiserver's "most recent" semantics). */
  readonly resourceVersion: string | null;
  readonly allowBookmarks: boolean;
  readonly timeoutSeconds: number | undefined;
  readonly bookmarkIntervalMs: number;
}

/**
 * Streams watch events as newline-delimited JSON over a chunked response, as the apiserver does. A watch resumes
 * from a resourceVersion when the history reaches back, otherwise it gets an ERROR event with 410 (clients relist).
 * Bookmarks carry the current resourceVersion so informers can resume without a relist. Faults can cut the stream.
 */
export function serveWatch(
  store: ObjectStore,
  faults: Faults,
  watch: WatchRequest,
  response: ServerResponse,
): Promise<string> {
  const inScope = (event: WatchEvent) =>
    (watch.namespace === undefined || event.object.metadata.namespace === watch.namespace) &&
    watch.matches(event.object);
  const send = (type: string, object: unknown) => response.write(`${JSON.stringify({ type, object })}\n`);
  response.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
  // Clients (client-node's Watch) wait for the headers before they report the watch as established.
  response.flushHeaders();
  const start =
    watch.resourceVersion === null || watch.resourceVersion === '' || watch.resourceVersion === '0'
      ? undefined
      : Number(watch.resourceVersion);
  try {
    if (start === undefined || Number.isNaN(start)) {
      for (const object of store.list(watch.type, watch.namespace).filter(watch.matches)) send('ADDED', object);
    } else {
      for (const event of store.eventsSince(watch.type, start).filter(inScope)) send(event.type, event.object);
    }
  } catch (error) {
    if (!(error instanceof KubeError)) throw error;
    send('ERROR', error.toStatus());
    response.end();
    return Promise.resolve('expired');
  }
  return new Promise((resolve) => {
    const timers: NodeJS.Timeout[] = [];
    const finish = (reason: string) => {
      unsubscribe();
      undrop();
      for (const timer of timers) clearInterval(timer);
      if (!response.writableEnded) response.end();
      resolve(reason);
    };
    const unsubscribe = store.subscribe(watch.type, (event) => {
      if (inScope(event)) send(event.type, event.object);
    });
    const undrop = faults.onDropWatches((resource, how) => {
      if (resource === undefined || resource === watch.type.plural) {
        if (how === 'reset') response.destroy();
        finish(`dropped (${how})`);
      }
    });
    if (watch.allowBookmarks) {
      const bookmark = () =>
        send('BOOKMARK', {
          kind: watch.type.kind,
          apiVersion: apiVersionOf(watch.type),
          metadata: { resourceVersion: String(store.revision) },
        });
      timers.push(setInterval(bookmark, watch.bookmarkIntervalMs));
    }
    if (watch.timeoutSeconds !== undefined)
      timers.push(setTimeout(() => finish('timeout'), watch.timeoutSeconds * 1000));
    response.on('close', () => finish('closed'));
  });
}
