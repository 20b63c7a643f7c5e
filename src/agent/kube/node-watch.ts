/**
 * The agent's Kubernetes side: watches scoped to this node (its Node object, the pods bound to it, its ENIConfig, the
 * live `amazon-vpc-cni` ConfigMap) turned into pool demand and live configuration, and what the agent does reported
 * as Events (a pod's typed IPAM failure, a repaired host, a refused or applied ConfigMap, a kubelet maxPods that
 * disagrees with the addresses) and annotations (ANNOTATE_POD_IP, the node's pod capacity). It acts on the core only
 * through the view's two verbs, and no failure of the API server reaches the core: watches back off and retry, writes
 * are queued and counted.
 *
 * Every request it makes is listed in access.ts (KUBERNETES_ACCESS), which the RBAC manifests grant and the
 * end-to-end test holds the simulator's record against.
 */
import type { KubernetesObject, V1ConfigMap, V1Node, V1Pod } from '@kubernetes/client-node';
import { eniConfigName } from '../../ipam/cloud/eniconfig.ts';
import { limitsOf } from '../../ipam/node-engine.ts';
import { nodeMaxPods } from '../../ipam/policy/max-pods.ts';
import type { AgentEvent, PodRef } from '../bus.ts';
import type { Log } from '../log.ts';
import type { AgentView, NodeDemand } from '../view.ts';
import { type CapacityFinding, capacityFinding, capacityPatch } from './capacity.ts';
import { createKubeClient, type KubeClient } from './client.ts';
import { CONFIGMAP_NAME, CONFIGMAP_NAMESPACE, liveConfigMap } from './configmap.ts';
import type { EventObject } from './correlate.ts';
import { nodeDemand, podKey } from './demand.ts';
import { type Watched, watchResource } from './informer.ts';
import { EventRecorder } from './recorder.ts';
import { shortageEvent } from './shortage-event.ts';

/** The reference's annotation (ipamd AddNetwork with ANNOTATE_POD_IP): the pod's IP before the kubelet reports it. */
export const POD_IPS_ANNOTATION = 'vpc.amazonaws.com/pod-ips';
/** How long a stopping agent waits for its last Events to be written. */
const FLUSH_MS = 2_000;

export interface KubernetesOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The env file the agent started with (its layer stays under a live ConfigMap). */
  readonly envFile?: string;
  readonly log: Log;
}

export function startNodeWatch(view: AgentView, o: KubernetesOptions): { stop(): Promise<void> } {
  const client = createKubeClient(o.env.KUBECONFIG || undefined);
  const recorder = new EventRecorder(client, view.nodeName, (message) => o.log.warn(`kubernetes: ${message}`));
  return new NodeWatch(view, client, recorder, o).start();
}

class NodeWatch {
  readonly #view: AgentView;
  readonly #client: KubeClient;
  readonly #recorder: EventRecorder;
  readonly #o: KubernetesOptions;
  readonly #watches: Watched<KubernetesObject>[] = [];
  #node: V1Node | undefined;
  #pods: readonly V1Pod[] = [];
  #demand: NodeDemand = { cordoned: false, pendingPods: 0 };
  #capacity: CapacityFinding | undefined;
  #eniConfig: { readonly name: string; readonly spec: string | undefined } | undefined;
  #eniConfigs: readonly KubernetesObject[] = [];
  #stopped = false;
  /** Addresses this agent wrote into pods' annotations, to clear them on DEL as the reference does. */
  readonly #annotated = new Map<string, string>();

  constructor(view: AgentView, client: KubeClient, recorder: EventRecorder, o: KubernetesOptions) {
    this.#view = view;
    this.#client = client;
    this.#recorder = recorder;
    this.#o = o;
  }

  start(): { stop(): Promise<void> } {
    const { core, custom } = this.#client;
    const name = this.#view.nodeName;
    const onError = (message: string, retryInMs: number) =>
      this.#o.log.warn(`kubernetes: ${message}; retrying in ${retryInMs} ms`);
    const configMap = liveConfigMap({
      view: this.#view,
      sources: { env: this.#o.env, ...(this.#o.envFile === undefined ? {} : { envFile: this.#o.envFile }) },
      log: this.#o.log,
      record: (event) => this.#recorder.record({ ...event, object: this.#nodeObject() }),
    });
    const watch = <T extends KubernetesObject>(w: Parameters<typeof watchResource<T>>[1]) =>
      this.#watches.push(watchResource<T>(this.#client, { ...w, onError }) as unknown as Watched<KubernetesObject>);
    watch<V1Node>({
      name: 'node',
      path: '/api/v1/nodes',
      fieldSelector: `metadata.name=${name}`,
      list: () => core.listNode({ fieldSelector: `metadata.name=${name}` }),
      onChange: (nodes) => {
        this.#node = nodes[0];
        this.#updateDemand();
        this.#publishCapacity();
        this.#checkEniConfig();
      },
      onError,
    });
    watch<V1Pod>({
      name: 'pods',
      path: '/api/v1/pods',
      fieldSelector: `spec.nodeName=${name}`,
      list: () => core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${name}` }),
      onChange: (pods) => {
        this.#pods = pods;
        this.#updateDemand();
      },
      onError,
    });
    watch<V1ConfigMap>({
      name: 'configmap',
      path: `/api/v1/namespaces/${CONFIGMAP_NAMESPACE}/configmaps`,
      fieldSelector: `metadata.name=${CONFIGMAP_NAME}`,
      list: () =>
        core.listNamespacedConfigMap({
          namespace: CONFIGMAP_NAMESPACE,
          fieldSelector: `metadata.name=${CONFIGMAP_NAME}`,
        }),
      onChange: (objects) => {
        // A stopping agent takes no new configuration.
        if (!this.#stopped) void configMap.consider(objects[0]).then(() => this.#publishCapacity());
      },
      onError,
    });
    if (this.#view.config().AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG)
      watch<KubernetesObject>({
        name: 'eniconfigs',
        path: '/apis/crd.k8s.amazonaws.com/v1alpha1/eniconfigs',
        list: () =>
          custom.listClusterCustomObject({
            group: 'crd.k8s.amazonaws.com',
            version: 'v1alpha1',
            plural: 'eniconfigs',
          }) as never,
        onChange: (objects) => {
          this.#eniConfigs = objects;
          this.#checkEniConfig();
        },
        onError,
      });
    const unsubscribe = this.#view.bus.subscribe((event) => this.#onAgentEvent(event));
    return {
      stop: async () => {
        this.#stopped = true;
        unsubscribe();
        await Promise.all(this.#watches.map((w) => w.stop()));
        await this.#recorder.flush(FLUSH_MS);
      },
    };
  }

  #nodeObject(): EventObject {
    const uid = this.#node?.metadata?.uid;
    return { kind: 'Node', name: this.#view.nodeName, ...(uid === undefined ? {} : { uid }) };
  }

  #podObject(pod: PodRef): EventObject {
    const uid = this.#pods.find((p) => p.metadata?.namespace === pod.namespace && p.metadata?.name === pod.name)
      ?.metadata?.uid;
    return { kind: 'Pod', name: pod.name, namespace: pod.namespace, ...(uid === undefined ? {} : { uid }) };
  }

  #updateDemand(): void {
    const leased = new Set(
      this.#view.engine.store
        .leases()
        .map((l) => podKey(l.metadata.k8sPodNamespace ?? '', l.metadata.k8sPodName ?? '')),
    );
    const demand = nodeDemand(this.#node, this.#pods, leased);
    if (demand.cordoned === this.#demand.cordoned && demand.pendingPods === this.#demand.pendingPods) return;
    this.#demand = demand;
    this.#view.setDemand(demand);
  }

  #publishCapacity(): void {
    if (this.#node === undefined) return;
    const config = this.#view.config();
    const computed = nodeMaxPods(this.#view.instanceType, limitsOf(this.#view.instanceType), config);
    const finding = capacityFinding(computed, this.#node);
    const before = this.#capacity;
    this.#capacity = finding;
    if (JSON.stringify(before) !== JSON.stringify(finding)) {
      this.#view.bus.publish({ kind: 'pod-capacity', ...finding });
      if (finding.mismatch !== undefined)
        this.#recorder.record({
          object: this.#nodeObject(),
          type: 'Warning',
          reason: 'MaxPodsMismatch',
          message: finding.mismatch,
        });
    }
    const patch = capacityPatch(finding, this.#node);
    if (patch !== undefined)
      this.#client.core
        .patchNode({ name: this.#view.nodeName, body: patch }, this.#client.mergePatch)
        .catch((error: unknown) => this.#o.log.warn(`kubernetes: node annotation: ${String(error).slice(0, 300)}`));
  }

  /** Custom networking: the ENIConfig is read at start; a change is said, and takes effect on a recycle. */
  #checkEniConfig(): void {
    const config = this.#view.config();
    if (!config.AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG || this.#node === undefined) return;
    const name = eniConfigName(
      { labels: this.#node.metadata?.labels ?? {}, annotations: this.#node.metadata?.annotations ?? {} },
      { label: config.ENI_CONFIG_LABEL_DEF, annotation: config.ENI_CONFIG_ANNOTATION_DEF },
    );
    const object = this.#eniConfigs.find((o) => o.metadata?.name === name) as { spec?: unknown } | undefined;
    const now = { name, spec: object === undefined ? undefined : JSON.stringify(object.spec ?? {}) };
    const before = this.#eniConfig;
    // A spec not seen yet (the ENIConfigs listed after the node) is no change; a name or a known spec changing is.
    this.#eniConfig = { name, spec: now.spec ?? before?.spec };
    if (before === undefined) return;
    const renamed = before.name !== name;
    if (!renamed && (before.spec === undefined || now.spec === undefined || before.spec === now.spec)) return;
    this.#recorder.record({
      object: this.#nodeObject(),
      type: 'Normal',
      reason: 'ENIConfigChanged',
      message: `${renamed ? `the node's ENIConfig is now "${name}" (was "${before.name}")` : `ENIConfig "${name}" changed (spec ${now.spec})`}: attached ENIs keep their subnet and security groups; new ENIs follow it once the node is recycled`,
    });
  }

  #onAgentEvent(event: AgentEvent): void {
    switch (event.kind) {
      case 'add':
        if (!event.ok && event.shortage !== undefined && event.pod !== undefined)
          this.#recorder.record(shortageEvent(this.#podObject(event.pod), event.shortage));
        if (event.ok && event.pod !== undefined) this.#annotatePod(event.pod, 'add');
        this.#updateDemand();
        return;
      case 'del':
        if (event.ok && event.pod !== undefined) this.#annotatePod(event.pod, 'del');
        this.#updateDemand();
        return;
      case 'drift-repaired':
        this.#recorder.record({
          object: this.#nodeObject(),
          type: 'Normal',
          reason: 'HostNetworkRepaired',
          message: `restored ${event.restored.length} objects changed outside the agent: ${event.restored.slice(0, 10).join('; ')}${event.restored.length > 10 ? '; …' : ''}`,
        });
        return;
      default:
        return;
    }
  }

  /** ANNOTATE_POD_IP as ipamd does it: the address on ADD; "" on DEL when the annotation still holds the released one. */
  #annotatePod(pod: PodRef, op: 'add' | 'del'): void {
    if (!this.#view.config().ANNOTATE_POD_IP) return;
    const key = podKey(pod.namespace, pod.name);
    let value: string;
    if (op === 'add') {
      const lease = this.#view.engine.store
        .leases()
        .find((l) => l.metadata.k8sPodNamespace === pod.namespace && l.metadata.k8sPodName === pod.name);
      if (lease === undefined) return;
      value = lease.ip;
      this.#annotated.set(key, value);
    } else {
      const written = this.#annotated.get(key);
      this.#annotated.delete(key);
      const known = this.#pods.find((p) => p.metadata?.namespace === pod.namespace && p.metadata?.name === pod.name);
      // A pod already gone has no annotation to clear; one that holds another address is not ours to clear.
      if (written === undefined || known?.metadata?.annotations?.[POD_IPS_ANNOTATION] !== written) return;
      value = '';
    }
    this.#client.core
      .patchNamespacedPod(
        {
          name: pod.name,
          namespace: pod.namespace,
          body: { metadata: { annotations: { [POD_IPS_ANNOTATION]: value } } },
        },
        this.#client.mergePatch,
      )
      .catch((error: unknown) =>
        this.#o.log.warn(`kubernetes: ${POD_IPS_ANNOTATION} on ${key}: ${String(error).slice(0, 300)}`),
      );
  }
}
