// Generated from schema/config.cue by `npm run gen`. Do not edit: change the schema and regenerate.
// test/config/schema.test.ts fails when this file and the schema disagree.
export const settings = {
  "AWS_VPC_K8S_CNI_EXTERNALSNAT": {
    "doc": "SNAT is done outside the node (NAT gateway): no SNAT chain rules, no connmark; the fwmark rule stays only with NodePort support.",
    "readBy": [
      "ipamd"
    ],
    "plan": true,
    "source": "env",
    "kind": "bool",
    "default": false
  },
  "AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS": {
    "doc": "Comma-separated IPv4 CIDRs that pods reach without SNAT (RETURN rules in AWS-SNAT-CHAIN-0, exempt from connmark).",
    "readBy": [
      "ipamd"
    ],
    "plan": true,
    "source": "env",
    "kind": "cidrs",
    "default": []
  },
  "AWS_EXTERNAL_SERVICE_CIDRS": {
    "doc": "Comma-separated IPv4 CIDRs routed through the main table from every pod (ip rule `to CIDR lookup main` at priority 1535).",
    "readBy": [
      "ipamd"
    ],
    "plan": true,
    "source": "env",
    "kind": "cidrs",
    "default": []
  },
  "AWS_VPC_K8S_CNI_RANDOMIZESNAT": {
    "doc": "Port randomisation of the node SNAT rule: prng = --random-fully, hashrandom = --random, none = no flag.",
    "readBy": [
      "ipamd",
      "egress"
    ],
    "plan": true,
    "source": "env",
    "kind": "enum",
    "values": [
      "prng",
      "hashrandom",
      "none"
    ],
    "default": "prng",
    "caseInsensitive": false
  },
  "AWS_VPC_CNI_NODE_PORT_SUPPORT": {
    "doc": "Mark NodePort connections arriving on the primary ENI so replies from pods on secondary ENIs leave through it.",
    "readBy": [
      "ipamd"
    ],
    "plan": true,
    "source": "env",
    "kind": "bool",
    "default": true
  },
  "AWS_VPC_K8S_CNI_CONNMARK": {
    "doc": "Mark and mask for the fwmark rule, CONNMARK and nftables rules (0x80 by default; kube-proxy uses 0x4000/0x8000).",
    "readBy": [
      "ipamd"
    ],
    "plan": true,
    "source": "env",
    "kind": "mark",
    "default": 128
  },
  "AWS_VPC_ENI_MTU": {
    "doc": "MTU of the primary and secondary ENI links (at least 1280 in IPv6 mode).",
    "readBy": [
      "entrypoint",
      "ipamd"
    ],
    "plan": true,
    "source": "env",
    "kind": "int",
    "default": 9001,
    "min": 576,
    "max": 9001,
    "unit": ""
  },
  "POD_MTU": {
    "doc": "MTU of pod veth pairs; when unset it follows AWS_VPC_ENI_MTU (at least 1280 in IPv6 mode).",
    "readBy": [
      "entrypoint",
      "plugin",
      "egress"
    ],
    "plan": true,
    "source": "env",
    "kind": "int",
    "default": 9001,
    "min": 576,
    "max": 9001,
    "unit": ""
  },
  "AWS_VPC_K8S_CNI_VETHPREFIX": {
    "doc": "Name prefix of host-side pod veths, also matched by the connmark rules (`-i eni+`).",
    "readBy": [
      "entrypoint",
      "ipamd",
      "plugin"
    ],
    "plan": true,
    "source": "env",
    "kind": "string",
    "default": "eni",
    "nonEmpty": true,
    "maxLength": 4,
    "forbidden": [
      "eth",
      "lo",
      "vlan"
    ],
    "format": "ifname-prefix"
  },
  "DISABLE_TCP_EARLY_DEMUX": {
    "doc": "Set net.ipv4.tcp_early_demux to 0 (needed for security groups for pods with kubelet TCP probes); false sets it to 1.",
    "readBy": [
      "init"
    ],
    "plan": true,
    "source": "env",
    "kind": "bool",
    "default": false
  },
  "ENABLE_BANDWIDTH_PLUGIN": {
    "doc": "Append the bandwidth plugin to the CNI conflist.",
    "readBy": [
      "entrypoint"
    ],
    "plan": false,
    "source": "env",
    "kind": "bool",
    "default": false
  },
  "ENABLE_IPv4": {
    "doc": "IPv4 pod addresses (the README default; exactly one of ENABLE_IPv4 and ENABLE_IPv6 must be true).",
    "readBy": [
      "ipamd"
    ],
    "plan": true,
    "source": "env",
    "kind": "bool",
    "default": true
  },
  "ENABLE_IPv6": {
    "doc": "IPv6 pod addresses from /80 prefixes (needs ENABLE_PREFIX_DELEGATION=true and no custom networking).",
    "readBy": [
      "init",
      "entrypoint",
      "ipamd"
    ],
    "plan": true,
    "source": "env",
    "kind": "bool",
    "default": false
  },
  "ENABLE_V6_EGRESS": {
    "doc": "In an IPv4 cluster, give pods IPv6 egress through the egress plugin (fd00::ac:00/118).",
    "readBy": [
      "init",
      "entrypoint",
      "ipamd"
    ],
    "plan": true,
    "source": "env",
    "kind": "bool",
    "default": false
  },
  "ENABLE_POD_ENI": {
    "doc": "Security groups for pods: attach a trunk ENI and wire branch-ENI pods.",
    "readBy": [
      "entrypoint",
      "ipamd"
    ],
    "plan": true,
    "source": "env",
    "kind": "bool",
    "default": false
  },
  "POD_SECURITY_GROUP_ENFORCING_MODE": {
    "doc": "strict: branch-ENI pod traffic always uses its ENI (local rule moved to priority 20); standard: pod traffic may use the node's routes.",
    "readBy": [
      "entrypoint",
      "ipamd",
      "plugin"
    ],
    "plan": true,
    "source": "env",
    "kind": "enum",
    "values": [
      "strict",
      "standard"
    ],
    "default": "strict",
    "caseInsensitive": false
  },
  "WARM_ENI_TARGET": {
    "doc": "Whole ENIs' worth of free addresses to keep ready; ignored when WARM_IP_TARGET or MINIMUM_IP_TARGET is set, and with prefix delegation.",
    "readBy": [
      "ipamd"
    ],
    "plan": false,
    "source": "env",
    "kind": "int",
    "default": 1,
    "min": 0,
    "max": 2147483647,
    "unit": ""
  },
  "WARM_IP_TARGET": {
    "doc": "Free addresses to keep ready (0 = not set).",
    "readBy": [
      "entrypoint",
      "ipamd"
    ],
    "plan": false,
    "source": "env",
    "kind": "int",
    "default": 0,
    "min": 0,
    "max": 2147483647,
    "unit": ""
  },
  "MINIMUM_IP_TARGET": {
    "doc": "Floor on the total number of addresses on the node (0 = not set).",
    "readBy": [
      "entrypoint",
      "ipamd"
    ],
    "plan": false,
    "source": "env",
    "kind": "int",
    "default": 0,
    "min": 0,
    "max": 2147483647,
    "unit": ""
  },
  "WARM_PREFIX_TARGET": {
    "doc": "Free /28 prefixes to keep ready with prefix delegation.",
    "readBy": [
      "entrypoint",
      "ipamd"
    ],
    "plan": false,
    "source": "env",
    "kind": "int",
    "default": 0,
    "min": 0,
    "max": 2147483647,
    "unit": ""
  },
  "ENABLE_PREFIX_DELEGATION": {
    "doc": "Assign /28 IPv4 (or /80 IPv6) prefixes to ENIs instead of single secondary addresses (Nitro instances).",
    "readBy": [
      "entrypoint",
      "ipamd"
    ],
    "plan": false,
    "source": "env",
    "kind": "bool",
    "default": false
  },
  "MAX_ENI": {
    "doc": "Cap on ENIs per node; -1 = the instance type's limit.",
    "readBy": [
      "ipamd"
    ],
    "plan": false,
    "source": "env",
    "kind": "int",
    "default": -1,
    "min": 1,
    "max": 2147483647,
    "unit": "",
    "sentinel": -1
  },
  "IP_COOLDOWN_PERIOD": {
    "doc": "Seconds a released address waits before it is handed out again.",
    "readBy": [
      "entrypoint",
      "ipamd"
    ],
    "plan": false,
    "source": "env",
    "kind": "int",
    "default": 30,
    "min": 0,
    "max": 2147483647,
    "unit": "s"
  },
  "ENABLE_MULTI_NIC": {
    "doc": "Manage ENIs on network cards other than 0 (route tables 10000+100·card+device) for multi-NIC pods.",
    "readBy": [
      "ipamd"
    ],
    "plan": true,
    "source": "env",
    "kind": "bool",
    "default": false
  },
  "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": {
    "doc": "Custom networking: secondary ENIs take their subnet and security groups from the node's ENIConfig.",
    "readBy": [
      "ipamd"
    ],
    "plan": false,
    "source": "env",
    "kind": "bool",
    "default": false
  },
  "ENI_CONFIG_ANNOTATION_DEF": {
    "doc": "Node annotation that names the node's ENIConfig.",
    "readBy": [
      "ipamd"
    ],
    "plan": false,
    "source": "env",
    "kind": "string",
    "default": "k8s.amazonaws.com/eniConfig",
    "nonEmpty": true,
    "maxLength": 0,
    "forbidden": [],
    "format": "text"
  },
  "ENI_CONFIG_LABEL_DEF": {
    "doc": "Node label that names the node's ENIConfig.",
    "readBy": [
      "ipamd"
    ],
    "plan": false,
    "source": "env",
    "kind": "string",
    "default": "k8s.amazonaws.com/eniConfig",
    "nonEmpty": true,
    "maxLength": 0,
    "forbidden": [],
    "format": "text"
  },
  "AWS_MANAGE_ENIS_NON_SCHEDULABLE": {
    "doc": "Keep growing and shrinking the pool on a cordoned node.",
    "readBy": [
      "ipamd"
    ],
    "plan": false,
    "source": "env",
    "kind": "bool",
    "default": false
  },
  "ENABLE_SUBNET_DISCOVERY": {
    "doc": "Create secondary ENIs in subnets tagged kubernetes.io/role/cni (most free addresses first).",
    "readBy": [
      "ipamd"
    ],
    "plan": false,
    "source": "env",
    "kind": "bool",
    "default": true
  },
  "DISABLE_NETWORK_RESOURCE_PROVISIONING": {
    "doc": "Never change ENIs or addresses through EC2; use only what IMDS shows attached.",
    "readBy": [
      "ipamd"
    ],
    "plan": false,
    "source": "env",
    "kind": "bool",
    "default": false
  },
  "ENABLE_IMDS_ONLY_MODE": {
    "doc": "Discover ENIs from IMDS only; implies DISABLE_NETWORK_RESOURCE_PROVISIONING and no leaked-ENI cleanup.",
    "readBy": [
      "ipamd"
    ],
    "plan": false,
    "source": "env",
    "kind": "bool",
    "default": false
  },
  "DISABLE_LEAKED_ENI_CLEANUP": {
    "doc": "Turn off the periodic sweep that deletes detached ENIs this CNI created and lost track of.",
    "readBy": [
      "ipamd"
    ],
    "plan": false,
    "source": "env",
    "kind": "bool",
    "default": false
  },
  "MANAGE_UNTAGGED_ENI": {
    "doc": "Manage attached ENIs that do not carry the node.k8s.amazonaws.com/no_manage tag check.",
    "readBy": [
      "ipamd"
    ],
    "plan": false,
    "source": "env",
    "kind": "bool",
    "default": true
  },
  "ANNOTATE_POD_IP": {
    "doc": "Annotate pods with vpc.amazonaws.com/pod-ips.",
    "readBy": [
      "ipamd"
    ],
    "plan": false,
    "source": "env",
    "kind": "bool",
    "default": false
  },
  "AWS_VPC_K8S_CNI_BACKING_STORE": {
    "doc": "Datastore checkpoint file (the reference's vpc-cni-ipam/1 format).",
    "readBy": [
      "ipamd"
    ],
    "plan": false,
    "source": "env",
    "kind": "string",
    "default": "/var/run/aws-node/ipam.json",
    "nonEmpty": true,
    "maxLength": 0,
    "forbidden": [],
    "format": "path"
  },
  "ADDITIONAL_ENI_TAGS": {
    "doc": "JSON object of extra tags for the ENIs this CNI creates; keys containing k8s.amazonaws.com are reserved.",
    "readBy": [
      "ipamd"
    ],
    "plan": false,
    "source": "env",
    "kind": "tags",
    "default": {},
    "reservedKeySubstring": "k8s.amazonaws.com"
  },
  "CLUSTER_NAME": {
    "doc": "Cluster name, tagged on created ENIs as cluster.k8s.amazonaws.com/name.",
    "readBy": [
      "ipamd"
    ],
    "plan": false,
    "source": "env",
    "kind": "string",
    "default": "",
    "nonEmpty": false,
    "maxLength": 0,
    "forbidden": [],
    "format": "text"
  },
  "VPC_CNI_EC2_RATE_LIMIT": {
    "doc": "Client-side sustained EC2 call rate of this node (token bucket), so one node cannot throttle the account.",
    "readBy": [
      "vpc-cni"
    ],
    "plan": false,
    "source": "env",
    "kind": "int",
    "default": 10,
    "min": 1,
    "max": 1000,
    "unit": "calls/s"
  },
  "HOST_CNI_BIN_PATH": {
    "doc": "Where the CNI plugin binaries are installed.",
    "readBy": [
      "init",
      "entrypoint"
    ],
    "plan": false,
    "source": "env",
    "kind": "string",
    "default": "/host/opt/cni/bin",
    "nonEmpty": true,
    "maxLength": 0,
    "forbidden": [],
    "format": "path"
  },
  "HOST_CNI_CONFDIR_PATH": {
    "doc": "Where 10-aws.conflist is written once the agent is ready.",
    "readBy": [
      "entrypoint"
    ],
    "plan": false,
    "source": "env",
    "kind": "string",
    "default": "/host/etc/cni/net.d",
    "nonEmpty": true,
    "maxLength": 0,
    "forbidden": [],
    "format": "path"
  },
  "AWS_VPC_K8S_PLUGIN_LOG_FILE": {
    "doc": "CNI plugin log file, or stderr (empty = stderr; stdout is the CNI result channel and is refused).",
    "readBy": [
      "entrypoint",
      "plugin"
    ],
    "plan": false,
    "source": "env",
    "kind": "string",
    "default": "/var/log/aws-routed-eni/plugin.log",
    "nonEmpty": false,
    "maxLength": 0,
    "forbidden": [
      "stdout"
    ],
    "format": "log-destination"
  },
  "AWS_VPC_K8S_PLUGIN_LOG_LEVEL": {
    "doc": "CNI plugin log level.",
    "readBy": [
      "entrypoint",
      "plugin",
      "egress"
    ],
    "plan": false,
    "source": "env",
    "kind": "enum",
    "values": [
      "debug",
      "info",
      "warn",
      "error",
      "fatal"
    ],
    "default": "debug",
    "caseInsensitive": true
  },
  "AWS_VPC_K8S_EGRESS_V4_PLUGIN_LOG_FILE": {
    "doc": "Egress plugin log file in IPv6 clusters.",
    "readBy": [
      "entrypoint"
    ],
    "plan": false,
    "source": "env",
    "kind": "string",
    "default": "/var/log/aws-routed-eni/egress-v4-plugin.log",
    "nonEmpty": false,
    "maxLength": 0,
    "forbidden": [],
    "format": "log-destination"
  },
  "AWS_VPC_K8S_EGRESS_V6_PLUGIN_LOG_FILE": {
    "doc": "Egress plugin log file in IPv4 clusters.",
    "readBy": [
      "entrypoint"
    ],
    "plan": false,
    "source": "env",
    "kind": "string",
    "default": "/var/log/aws-routed-eni/egress-v6-plugin.log",
    "nonEmpty": false,
    "maxLength": 0,
    "forbidden": [],
    "format": "log-destination"
  },
  "AWS_VPC_K8S_CNI_LOGLEVEL": {
    "doc": "Agent log level.",
    "readBy": [
      "ipamd",
      "metrics-helper"
    ],
    "plan": false,
    "source": "env",
    "kind": "enum",
    "values": [
      "debug",
      "info",
      "warn",
      "error",
      "fatal"
    ],
    "default": "debug",
    "caseInsensitive": true
  },
  "AWS_VPC_K8S_CNI_LOG_FILE": {
    "doc": "Agent log file, or stdout / stderr.",
    "readBy": [
      "ipamd"
    ],
    "plan": false,
    "source": "env",
    "kind": "string",
    "default": "/host/var/log/aws-routed-eni/ipamd.log",
    "nonEmpty": true,
    "maxLength": 0,
    "forbidden": [],
    "format": "log-destination"
  },
  "INTROSPECTION_BIND_ADDRESS": {
    "doc": "Introspection server address: host:port or unix:<path>.",
    "readBy": [
      "ipamd"
    ],
    "plan": false,
    "source": "env",
    "kind": "string",
    "default": "127.0.0.1:61679",
    "nonEmpty": true,
    "maxLength": 0,
    "forbidden": [],
    "format": "hostport"
  },
  "DISABLE_INTROSPECTION": {
    "doc": "Turn off the introspection HTTP server.",
    "readBy": [
      "ipamd"
    ],
    "plan": false,
    "source": "env",
    "kind": "bool",
    "default": false
  },
  "DISABLE_METRICS": {
    "doc": "Turn off the Prometheus metrics server on :61678.",
    "readBy": [
      "ipamd"
    ],
    "plan": false,
    "source": "env",
    "kind": "bool",
    "default": false
  },
  "VPC_CNI_VERSION": {
    "doc": "Version string reported in the user agent.",
    "readBy": [
      "ipamd"
    ],
    "plan": false,
    "source": "env",
    "kind": "string",
    "default": "",
    "nonEmpty": false,
    "maxLength": 0,
    "forbidden": [],
    "format": "text"
  },
  "CLUSTER_ENDPOINT": {
    "doc": "Kubernetes API server URL override.",
    "readBy": [
      "ipamd"
    ],
    "plan": false,
    "source": "env",
    "kind": "string",
    "default": "",
    "nonEmpty": false,
    "maxLength": 0,
    "forbidden": [],
    "format": "url"
  },
  "AWS_EC2_ENDPOINT": {
    "doc": "Custom EC2 endpoint URL.",
    "readBy": [
      "ipamd"
    ],
    "plan": false,
    "source": "env",
    "kind": "string",
    "default": "",
    "nonEmpty": false,
    "maxLength": 0,
    "forbidden": [],
    "format": "url"
  },
  "HTTP_TIMEOUT": {
    "doc": "Timeout of AWS SDK HTTP calls.",
    "readBy": [
      "ipamd"
    ],
    "plan": false,
    "source": "env",
    "kind": "int",
    "default": 10,
    "min": 10,
    "max": 300,
    "unit": "s"
  },
  "MY_NODE_NAME": {
    "doc": "This node's Kubernetes name (downward API spec.nodeName).",
    "readBy": [
      "ipamd"
    ],
    "plan": false,
    "source": "env",
    "kind": "string",
    "default": "",
    "nonEmpty": false,
    "maxLength": 0,
    "forbidden": [],
    "format": "text"
  },
  "MY_POD_NAME": {
    "doc": "The agent pod's name (downward API metadata.name), for events.",
    "readBy": [
      "ipamd"
    ],
    "plan": false,
    "source": "env",
    "kind": "string",
    "default": "",
    "nonEmpty": false,
    "maxLength": 0,
    "forbidden": [],
    "format": "text"
  },
  "USE_CLOUDWATCH": {
    "doc": "cni-metrics-helper: publish to CloudWatch.",
    "readBy": [
      "metrics-helper"
    ],
    "plan": false,
    "source": "env",
    "kind": "bool",
    "default": false
  },
  "USE_PROMETHEUS": {
    "doc": "cni-metrics-helper: expose Prometheus metrics.",
    "readBy": [
      "metrics-helper"
    ],
    "plan": false,
    "source": "env",
    "kind": "bool",
    "default": false
  },
  "METRIC_UPDATE_INTERVAL": {
    "doc": "cni-metrics-helper: seconds between metric pushes.",
    "readBy": [
      "metrics-helper"
    ],
    "plan": false,
    "source": "env",
    "kind": "int",
    "default": 30,
    "min": 1,
    "max": 2147483647,
    "unit": "s"
  },
  "AWS_REGION": {
    "doc": "cni-metrics-helper: AWS region.",
    "readBy": [
      "metrics-helper"
    ],
    "plan": false,
    "source": "env",
    "kind": "string",
    "default": "",
    "nonEmpty": false,
    "maxLength": 0,
    "forbidden": [],
    "format": "text"
  },
  "AWS_CLUSTER_ID": {
    "doc": "cni-metrics-helper: cluster id dimension.",
    "readBy": [
      "metrics-helper"
    ],
    "plan": false,
    "source": "env",
    "kind": "string",
    "default": "",
    "nonEmpty": false,
    "maxLength": 0,
    "forbidden": [],
    "format": "text"
  },
  "AWS_VPC_K8S_CNI_CONFIGURE_RPFILTER": {
    "doc": "Deprecated no-op: rp_filter is always set to 2 (loose) on the primary interface.",
    "readBy": [],
    "plan": false,
    "source": "env",
    "kind": "noop",
    "default": "",
    "since": "v1.7"
  },
  "enable-network-policy-controller": {
    "doc": "Turn on NetworkPolicy enforcement by the EKS network policy controller.",
    "readBy": [],
    "plan": false,
    "source": "configmap",
    "kind": "bool",
    "default": false
  },
  "enable-windows-ipam": {
    "doc": "Windows IPAM by the VPC resource controller.",
    "readBy": [],
    "plan": false,
    "source": "configmap",
    "kind": "bool",
    "default": false
  },
  "enable-windows-prefix-delegation": {
    "doc": "Prefix delegation for Windows nodes.",
    "readBy": [],
    "plan": false,
    "source": "configmap",
    "kind": "bool",
    "default": false
  },
  "warm-prefix-target": {
    "doc": "Windows warm prefix target.",
    "readBy": [],
    "plan": false,
    "source": "configmap",
    "kind": "int",
    "default": 0,
    "min": 0,
    "max": 2147483647,
    "unit": ""
  },
  "warm-ip-target": {
    "doc": "Windows warm IP target.",
    "readBy": [],
    "plan": false,
    "source": "configmap",
    "kind": "int",
    "default": 1,
    "min": 0,
    "max": 2147483647,
    "unit": ""
  },
  "minimum-ip-target": {
    "doc": "Windows minimum IP target.",
    "readBy": [],
    "plan": false,
    "source": "configmap",
    "kind": "int",
    "default": 3,
    "min": 0,
    "max": 2147483647,
    "unit": ""
  },
  "VPC_CNI_IPTABLES_MODE": {
    "doc": "Connmark implementation: auto detects it from `iptables --version` like the reference (legacy → iptables chain AWS-CONNMARK-CHAIN-0, otherwise the nftables table ip aws-cni); iptables rules are always written with the system iptables.",
    "readBy": [
      "vpc-cni"
    ],
    "plan": true,
    "source": "env",
    "kind": "enum",
    "values": [
      "auto",
      "nf_tables",
      "legacy"
    ],
    "default": "auto",
    "caseInsensitive": false
  },
  "DISABLE_POD_V6": {
    "doc": "Append the tuning plugin that disables IPv6 inside pods.",
    "readBy": [
      "entrypoint"
    ],
    "plan": false,
    "source": "env",
    "kind": "bool",
    "default": false
  },
  "ENABLE_V4_EGRESS": {
    "doc": "In an IPv6 cluster, give pods IPv4 egress through the egress plugin (169.254.172.0/22).",
    "readBy": [
      "entrypoint"
    ],
    "plan": false,
    "source": "env",
    "kind": "bool",
    "default": true
  },
  "NETWORK_POLICY_ENFORCING_MODE": {
    "doc": "Network policy agent mode returned to the plugin.",
    "readBy": [
      "ipamd"
    ],
    "plan": false,
    "source": "env",
    "kind": "enum",
    "values": [
      "none",
      "strict",
      "standard"
    ],
    "default": "standard",
    "caseInsensitive": true
  },
  "VPC_CNI_EC2_RATE_BURST": {
    "doc": "Client-side EC2 call burst (token bucket size).",
    "readBy": [
      "vpc-cni"
    ],
    "plan": false,
    "source": "env",
    "kind": "int",
    "default": 20,
    "min": 1,
    "max": 1000,
    "unit": "calls"
  },
  "ENABLE_NFTABLES": {
    "doc": "Deprecated no-op: the iptables backend is detected from `iptables --version`.",
    "readBy": [],
    "plan": false,
    "source": "env",
    "kind": "noop",
    "default": "",
    "since": "v1.12"
  },
  "branch-eni-cooldown": {
    "doc": "Seconds a branch ENI waits before reuse (security groups for pods).",
    "readBy": [],
    "plan": false,
    "source": "configmap",
    "kind": "int",
    "default": 60,
    "min": 30,
    "max": 2147483647,
    "unit": "s"
  }
} as const;
