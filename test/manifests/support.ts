import { readdir, readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';

export const root = new URL('../../', import.meta.url);
export const manifestsDir = new URL('manifests/', root);

/** A Kubernetes object as a manifest states it: only what every object has is typed. */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string> };
  readonly [field: string]: unknown;
}

export interface ManifestDocument {
  readonly file: string;
  readonly object: KubeObject;
}

/** Every object in the YAML files `kubectl apply -f manifests/` reads (the top level only, as kubectl without -R). */
export async function manifestDocuments(): Promise<ManifestDocument[]> {
  const files = (await readdir(manifestsDir, { withFileTypes: true }))
    .filter((entry) => entry.isFile() && /\.ya?ml$/.test(entry.name))
    .map((entry) => entry.name)
    .sort();
  const documents: ManifestDocument[] = [];
  for (const file of files) {
    for (const document of parseAllDocuments(await readFile(new URL(file, manifestsDir), 'utf8'))) {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors.map((e) => e.message).join('; ')}`);
      const object: unknown = document.toJS();
      if (object === null) continue;
      documents.push({ file, object: object as KubeObject });
    }
  }
  return documents;
}

/** The one object of this kind (and name, when several share the kind); throws when it is missing or ambiguous. */
export function only(documents: readonly ManifestDocument[], kind: string, name?: string): KubeObject {
  const found = documents.filter(
    (d) => d.object.kind === kind && (name === undefined || d.object.metadata.name === name),
  );
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0]!.object;
}
