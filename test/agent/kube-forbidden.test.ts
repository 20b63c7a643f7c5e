import test from 'ava';
import { forbiddenHint } from '../../src/agent/kube/informer.ts';

test('a refused watch names the grant manifests/rbac.yaml gives for it', (t) => {
  t.is(
    forbiddenHint('/api/v1/pods'),
    "the agent's ServiceAccount needs list, watch, patch on pods through a ClusterRole, as manifests/rbac.yaml grants",
  );
  t.regex(
    forbiddenHint('/api/v1/namespaces/kube-system/configmaps'),
    /needs list, watch on configmaps \(resourceNames amazon-vpc-cni\) through a Role in kube-system/,
  );
  t.regex(forbiddenHint('/apis/crd.k8s.amazonaws.com/v1alpha1/eniconfigs'), /on crd\.k8s\.amazonaws\.com\/eniconfigs/);
  t.regex(forbiddenHint('/api/v1/secrets'), /not meant to make/);
});
