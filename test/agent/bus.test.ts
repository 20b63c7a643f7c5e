import test from 'ava';
import { AgentBus, type AgentEvent } from '../../src/agent/bus.ts';

test('a listener that throws is counted and the others still see the event', (t) => {
  const bus = new AgentBus();
  const seen: AgentEvent[] = [];
  bus.subscribe(() => {
    throw new Error('event API down');
  });
  const off = bus.subscribe((event) => seen.push(event));
  bus.publish({ kind: 'ready', timeToReadyMs: 12 });
  t.deepEqual(seen, [{ kind: 'ready', timeToReadyMs: 12 }]);
  t.is(bus.listenerFailures, 1);
  off();
  bus.publish({ kind: 'loop-ok', loop: 'warm-pool', ms: 1 });
  t.is(seen.length, 1, 'unsubscribed listeners see nothing more');
});
