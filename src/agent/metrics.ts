/**
 * Prometheus metrics and the health probes, on the reference's metrics port (`:61678`). The pool's gauges are read
 * from the engine at scrape time (never a stale copy); what happens between scrapes (ADD/DEL, EC2 calls, drift
 * repairs, loop failures, readiness) is counted from the agent bus as it happens. Names are the reference's `awscni_*`
 * ones where it has them, so existing dashboards and cni-metrics-helper keep working; the rest are `vpc_cni_*`.
 * The registry is private: nothing else in the process (the SDKs, a library) can add to or break the scrape.
 *
 * The probes: `/healthz` is liveness (an answer at all means the event loop turns; EC2 being down is not a reason to
 * restart), `/readyz` is 200 only while the agent can serve ADD now, else 503 with the reason. DISABLE_METRICS=true
 * leaves only the probes on the listener, since the DaemonSet's probes need them either way.
 */
import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import type { AgentEvent } from './bus.ts';
import { type BindAddress, keepListening, type Reply, text } from './endpoint.ts';
import { poolFigures } from './pool-figures.ts';
import type { AgentExtension, AgentView } from './view.ts';

export interface MetricsOptions {
  readonly bind: BindAddress;
  /** false (DISABLE_METRICS=true): only /healthz and /readyz are served. */
  readonly metrics: boolean;
  /** This build's version, for awscni_build_info. */
  readonly version: string;
  /** Called with the bound address once listening (the port when 0 was asked for). */
  readonly onListening?: (address: BindAddress) => void;
  /** A listen that failed and is being retried. */
  readonly onError?: (message: string) => void;
}

const seconds = (ms: number) => ms / 1000;
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const STARTUP_BUCKETS = [0.5, 1, 2, 3, 5, 7, 10, 15, 30, 60, 120];

/**
 * The registry for one agent: collectors that read `view` on each scrape, and counters fed by the bus and the engine's
 * events until `stop()`.
 */
export function createRegistry(view: AgentView, version: string): { readonly registry: Registry; stop(): void } {
  const registry = new Registry();
  const registers = [registry];
  const pool = () => poolFigures(view.engine.snapshot());

  new Gauge({
    name: 'awscni_build_info',
    help: 'The vpc-cni build (constant 1).',
    labelNames: ['version', 'nodeversion'],
    registers,
  }).set({ version, nodeversion: process.version }, 1);
  new Gauge({
    name: 'awscni_eni_allocated',
    help: 'ENIs in the pool (primary included).',
    registers,
    collect() {
      this.set(pool().enis.length);
    },
  });
  new Gauge({
    name: 'awscni_eni_max',
    help: 'ENIs this node may hold: min(instance limit, MAX_ENI).',
    registers,
    collect() {
      this.set(view.engine.policy.maxEnis);
    },
  });
  new Gauge({
    name: 'awscni_ip_max',
    help: 'Pod addresses the node could hold at most (ENIs × slots per ENI, × 16 with prefix delegation).',
    registers,
    collect() {
      const p = view.engine.policy;
      this.set(p.maxEnis * p.slotsPerEni * (p.prefixDelegation ? 16 : 1));
    },
  });
  new Gauge({
    name: 'awscni_total_ip_addresses',
    help: 'Pod addresses the pool holds.',
    registers,
    collect() {
      this.set(pool().total);
    },
  });
  new Gauge({
    name: 'awscni_assigned_ip_addresses',
    help: 'Pod addresses assigned to pods.',
    registers,
    collect() {
      this.set(pool().assigned);
    },
  });
  new Gauge({
    name: 'awscni_total_ipv4_prefixes',
    help: '/28 prefixes the pool holds.',
    registers,
    collect() {
      this.set(pool().prefixes);
    },
  });
  new Gauge({
    name: 'awscni_assigned_ip_per_eni',
    help: 'Pod addresses assigned, per ENI.',
    labelNames: ['eni'],
    registers,
    collect() {
      this.reset();
      for (const e of pool().enis) this.set({ eni: e.eni }, e.assigned);
    },
  });
  new Gauge({
    name: 'awscni_assigned_ip_per_cidr',
    help: 'Pods per /32 address or /28 prefix.',
    labelNames: ['cidr'],
    registers,
    collect() {
      this.reset();
      for (const e of view.engine.snapshot().enis) for (const c of e.cidrs) this.set({ cidr: c.cidr }, c.assigned);
    },
  });
  const poolGauge = (name: string, help: string, pick: (p: ReturnType<typeof pool>) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(pick(pool()));
      },
    });
  poolGauge('vpc_cni_free_ip_addresses', 'Pod addresses free to hand out now.', (p) => p.free);
  poolGauge('vpc_cni_cooling_ip_addresses', 'Freed addresses still in IP_COOLDOWN_PERIOD.', (p) => p.cooling);
  poolGauge(
    'vpc_cni_quarantined_ip_addresses',
    'Addresses EC2 no longer lists, kept for the pods still on them.',
    (p) => p.quarantined,
  );
  poolGauge('vpc_cni_waiting_pods', 'ADDs waiting for an address now.', (p) => p.waitingPods);

  new Gauge({
    name: 'vpc_cni_ready',
    help: '1 while the agent can serve ADD (the /readyz answer).',
    registers,
    collect() {
      this.set(view.readiness().ready ? 1 : 0);
    },
  });
  new Gauge({
    name: 'vpc_cni_time_to_ready_seconds',
    help: 'Process start to serving ADD, for this run (absent until ready).',
    registers,
    collect() {
      this.reset();
      const ms = view.timeToReadyMs();
      if (ms !== undefined) this.set(seconds(ms));
    },
  });
  new Gauge({
    name: 'vpc_cni_config_pending_recycle',
    help: 'Configuration keys changed since start that take effect only when the node is recycled.',
    registers,
    collect() {
      this.set(view.pendingRecycle().length);
    },
  });
  const loopGauge = (name: string, help: string, pick: (l: ReturnType<AgentView['loops']>[number]) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['loop'],
      registers,
      collect() {
        this.reset();
        for (const l of view.loops()) this.set({ loop: l.name }, pick(l));
      },
    });
  loopGauge('vpc_cni_loop_runs', 'Runs of each agent loop since start.', (l) => l.runs);
  loopGauge(
    'vpc_cni_loop_consecutive_failures',
    'Failures in a row of each loop (0 = healthy).',
    (l) => l.consecutiveFailures,
  );
  loopGauge(
    'vpc_cni_loop_last_success_timestamp_seconds',
    'When each loop last succeeded (Unix time; 0 = never).',
    (l) => seconds(l.lastOkAtMs ?? 0),
  );
  // Totals the engine keeps itself, mirrored at scrape time.
  const engineCounter = (name: string, help: string, key: string) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(view.engine.metrics()[key] ?? 0);
      },
    });
  engineCounter('vpc_cni_ec2_calls_total', 'EC2 requests sent (retries included).', 'ec2_calls_total');
  engineCounter('vpc_cni_ec2_mutating_calls_total', 'EC2 requests that change something.', 'ec2_calls_mutating');
  engineCounter('vpc_cni_ec2_throttled_total', 'EC2 requests answered with a throttle.', 'ec2_throttled_total');
  engineCounter('vpc_cni_pending_eni_deletes', 'ENIs whose delete failed and is retried.', 'ipam_pending_eni_deletes');
  engineCounter(
    'vpc_cni_bus_listener_failures_total',
    'Engine event subscribers that threw.',
    'ipam_event_listener_failures_total',
  );
  let podsServed = 0;
  new Gauge({
    name: 'vpc_cni_ec2_calls_per_pod',
    help: 'EC2 requests per successful ADD since start (0 before the first).',
    registers,
    collect() {
      this.set(podsServed === 0 ? 0 : (view.engine.metrics().ec2_calls_total ?? 0) / podsServed);
    },
  });

  const addRequests = new Counter({ name: 'awscni_add_ip_req_count', help: 'CNI ADD requests.', registers });
  const delRequests = new Counter({ name: 'awscni_del_ip_req_count', help: 'CNI DEL requests.', registers });
  const noAddress = new Counter({
    name: 'awscni_no_available_ip_addresses',
    help: 'ADDs that found no address (the IPAM shortage is the reason label of vpc_cni_add_shortage_total).',
    registers,
  });
  const shortage = new Counter({
    name: 'vpc_cni_add_shortage_total',
    help: 'ADDs that found no address, by IPAM reason.',
    labelNames: ['reason'],
    registers,
  });
  const addLatency = new Histogram({
    name: 'vpc_cni_add_latency_seconds',
    help: 'CNI ADD, request to answer, as the agent served it.',
    labelNames: ['result'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const delLatency = new Histogram({
    name: 'vpc_cni_del_latency_seconds',
    help: 'CNI DEL, request to answer.',
    labelNames: ['result'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const apiLatency = new Summary({
    name: 'awscni_aws_api_latency_ms',
    help: 'EC2 API latency in ms.',
    labelNames: ['api', 'error'],
    percentiles: [0.5, 0.9, 0.99],
    maxAgeSeconds: 600,
    ageBuckets: 5,
    registers,
  });
  const apiErrors = new Counter({
    name: 'awscni_aws_api_error_count',
    help: 'Failed EC2 API calls, by API and error.',
    labelNames: ['api', 'error'],
    registers,
  });
  const ec2Requests = new Counter({
    name: 'awscni_ec2api_req_count',
    help: 'EC2 API calls.',
    labelNames: ['fn'],
    registers,
  });
  const ec2Errors = new Counter({
    name: 'awscni_ec2api_error_count',
    help: 'Failed EC2 API calls.',
    labelNames: ['fn'],
    registers,
  });
  const ipamdErrors = new Counter({
    name: 'awscni_ipamd_error_count',
    help: 'Agent errors, by where they happened (a loop name, or the pool action that failed).',
    labelNames: ['fn'],
    registers,
  });
  const loopFailures = new Counter({
    name: 'vpc_cni_loop_failures_total',
    help: 'Failed runs of each agent loop.',
    labelNames: ['loop'],
    registers,
  });
  const driftRepairs = new Counter({
    name: 'vpc_cni_drift_repairs_total',
    help: 'Host-network repairs (a re-plan that put back objects someone changed).',
    registers,
  });
  const driftObjects = new Counter({
    name: 'vpc_cni_drift_objects_restored_total',
    help: 'Host-network objects put back by drift repairs.',
    registers,
  });
  const driftLatency = new Histogram({
    name: 'vpc_cni_drift_detection_to_repair_seconds',
    help: 'From the change being noticed to the host being converged again.',
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const startup = new Histogram({
    name: 'awscni_ipamd_startup_duration_seconds',
    help: 'Process start to serving ADD.',
    labelNames: ['success'],
    buckets: STARTUP_BUCKETS,
    registers,
  });
  const configChanges = new Counter({
    name: 'vpc_cni_config_changes_total',
    help: 'Configuration changes taken (applied live or pending a recycle) or refused as invalid.',
    labelNames: ['result'],
    registers,
  });
  const reconcile = new Counter({
    name: 'awscni_reconcile_count',
    help: 'Datastore changes from reconciling with EC2, by kind.',
    labelNames: ['fn'],
    registers,
  });
  const fromEngine = view.engine.events.subscribe((event) => {
    if (event.kind === 'action-failed') ipamdErrors.inc({ fn: 'pool-action' });
    // The engine says a reconcile change as its JSON; its kind is the label.
    const kind = event.kind === 'reconcile' ? /"kind":"([a-z-]+)"/.exec(event.message)?.[1] : undefined;
    if (kind !== undefined) reconcile.inc({ fn: kind });
  });

  const onEvent = (event: AgentEvent): void => {
    switch (event.kind) {
      case 'add': {
        addRequests.inc();
        const result = event.ok ? 'ok' : event.shortage !== undefined ? 'no-address' : 'error';
        addLatency.observe({ result }, seconds(event.ms));
        if (event.ok) podsServed++;
        if (event.shortage !== undefined) {
          noAddress.inc();
          shortage.inc({ reason: event.shortage.code });
        }
        return;
      }
      case 'del':
        delRequests.inc();
        delLatency.observe({ result: event.ok ? 'ok' : 'error' }, seconds(event.ms));
        return;
      case 'ec2-call': {
        // A label value must come from a small set: the error's code (`UnauthorizedOperation`), not its message.
        const error = event.error === undefined ? '' : (/^[A-Za-z][\w.]{0,63}/.exec(event.error)?.[0] ?? 'error');
        ec2Requests.inc({ fn: event.action });
        apiLatency.observe({ api: event.action, error: error === '' ? 'false' : 'true' }, event.ms);
        if (error !== '') {
          ec2Errors.inc({ fn: event.action });
          apiErrors.inc({ api: event.action, error });
        }
        return;
      }
      case 'drift-repaired':
        driftRepairs.inc();
        driftObjects.inc(event.restored.length);
        driftLatency.observe(seconds(event.detectionToRepairMs));
        return;
      case 'loop-failed':
        loopFailures.inc({ loop: event.loop });
        ipamdErrors.inc({ fn: event.loop });
        return;
      case 'ready':
        startup.observe({ success: 'true' }, seconds(event.timeToReadyMs));
        return;
      case 'config-changed':
        configChanges.inc({ result: event.pendingRecycle.length > 0 ? 'pending-recycle' : 'applied' });
        return;
      case 'config-refused':
        configChanges.inc({ result: 'refused' });
        return;
      case 'loop-ok':
        return;
    }
  };
  const fromBus = view.bus.subscribe(onEvent);
  return {
    registry,
    stop() {
      fromBus();
      fromEngine();
    },
  };
}

/** PURE: the metrics listener's answer for one path. */
export async function healthAndMetrics(
  view: Pick<AgentView, 'readiness'>,
  registry: Registry | undefined,
  path: string,
): Promise<Reply> {
  switch (path) {
    case '/healthz':
      return text('ok');
    case '/readyz': {
      const readiness = view.readiness();
      return readiness.ready ? text('ready') : text(`not ready: ${readiness.reason}`, 503);
    }
    case '/metrics':
      if (registry === undefined) return text('metrics are off (DISABLE_METRICS=true)', 404);
      return { status: 200, body: await registry.metrics(), type: registry.contentType };
    default:
      return text(`no such path ${path}: /metrics, /healthz, /readyz`, 404);
  }
}

export function metricsExtension(o: MetricsOptions): AgentExtension {
  return {
    name: 'metrics',
    async start(view) {
      const metrics = o.metrics ? createRegistry(view, o.version) : undefined;
      const listener = await keepListening(o.bind, (path) => healthAndMetrics(view, metrics?.registry, path), o);
      return {
        async stop() {
          metrics?.stop();
          await listener.stop();
        },
      };
    },
  };
}
