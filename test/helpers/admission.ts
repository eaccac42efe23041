import { randomUUID } from 'node:crypto';

/**
 * An AdmissionReview as the Kubernetes API server sends it: a Pod (or a Deployment's pod template)
 * creating containers with these images, in a namespace.
 */
export function admissionReview(
  images: string[],
  o: { namespace?: string; kind?: 'Pod' | 'Deployment'; dryRun?: boolean; app?: string } = {},
): string {
  const containers = images.map((image, i) => ({ name: `c${i}`, image }));
  const deployment = o.kind === 'Deployment';
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: deployment
        ? { group: 'apps', version: 'v1', kind: 'Deployment' }
        : { group: '', version: 'v1', kind: 'Pod' },
      namespace: o.namespace ?? 'production',
      operation: 'CREATE',
      ...(o.dryRun ? { dryRun: true } : {}),
      object: deployment
        ? { metadata: { name: 'web' }, spec: { template: { spec: { containers } } } }
        : {
            metadata: o.app ? { name: `${o.app}-x`, labels: { app: o.app } } : { name: 'p' },
            spec: { containers },
          },
    },
  });
}
