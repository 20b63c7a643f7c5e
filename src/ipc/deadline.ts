/**
 * A deadline that does not fire on work already done. After the process was starved of CPU (a loaded node, a long GC),
 * the event loop runs due timers before it reads the sockets that became readable meanwhile: a plain timer would then
 * refuse a request, or give up on an answer, that had in fact arrived in time. Deferring the expiry by one
 * setImmediate lets that pending I/O be read first; whoever handled it cancels the deadline.
 */
export interface Deadline {
  cancel(): void;
}

export function deadline(ms: number, expire: () => void): Deadline {
  let cancelled = false;
  const timer = setTimeout(() => {
    setImmediate(() => {
      if (!cancelled) expire();
    });
  }, ms);
  return {
    cancel() {
      cancelled = true;
      clearTimeout(timer);
    },
  };
}
