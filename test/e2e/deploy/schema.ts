// Offline validation of rendered Kubernetes objects against the Kubernetes OpenAPI schemas, in two passes:
//  1. kubernetes-models' validators (generated from the Kubernetes OpenAPI spec; the Prometheus Operator's CRD
//     schemas for monitoring.coreos.com): types, enums, required fields, formats, patterns.
//  2. The same models' TypeScript declarations, through the TypeScript compiler: each object becomes an object
//     literal typed as its model, so an unknown field anywhere (a misspelt `subpath`, a probe key in the wrong
//     place) is an excess-property error. The OpenAPI schemas allow unknown fields, the API server would drop them
//     silently (or reject them with kubectl --validate=strict), so pass 1 alone would let a typo through.
import { join } from 'node:path';
import ts from 'typescript';
import { ROOT } from '../../helpers/paths.js';
import type { K8sObject } from './render.js';

/** The module and the interface name of an object's model, e.g. `kubernetes-models/apps/v1/Deployment`, `IDeployment`. */
export function modelModule(o: { apiVersion: string; kind: string }): { module: string; type: string } {
  if (!/^[A-Za-z]+$/.test(o.kind)) throw new Error(`not a kind: ${o.kind}`);
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  if (group === 'monitoring.coreos.com') {
    return { module: `@kubernetes-models/prometheus-operator/monitoring.coreos.com/${version}/${o.kind}`, type: `I${o.kind}` };
  }
  if (group!.includes('.') && !group!.endsWith('.k8s.io')) throw new Error(`no schema package for ${o.apiVersion} ${o.kind}`);
  return { module: group ? `kubernetes-models/${group}/${version}/${o.kind}` : `kubernetes-models/v1/${o.kind}`, type: `I${o.kind}` };
}

/** Pass 1: the OpenAPI validator. Returns problems as "Kind/name: message". */
export async function validateWithSchemas(objects: K8sObject[]): Promise<string[]> {
  const problems: string[] = [];
  for (const o of objects) {
    const { module } = modelModule(o);
    let Model: new (data: unknown) => { validate(): void };
    try {
      const mod = (await import(module)) as Record<string, new (data: unknown) => { validate(): void }>;
      Model = mod[o.kind]!;
      if (!Model) throw new Error(`${module} exports no ${o.kind}`);
    } catch (err) {
      problems.push(`${o.kind}/${o.metadata?.name}: no schema (${(err as Error).message})`);
      continue;
    }
    try {
      new Model(o).validate();
    } catch (err) {
      const errors = (err as { errors?: { instancePath: string; message?: string }[] }).errors;
      const detail = errors?.map((e) => `${e.instancePath} ${e.message}`).join('; ') ?? (err as Error).message;
      problems.push(`${o.kind}/${o.metadata?.name}: ${detail}`);
    }
  }
  return problems;
}

/** Pass 2: unknown fields and wrong types, by the TypeScript compiler against the models' declarations. */
export function checkFieldsWithTypes(objects: K8sObject[]): string[] {
  // A virtual file inside test/e2e/deploy, so module resolution finds the repository's node_modules.
  const file = join(ROOT, 'test/e2e/deploy/__rendered_objects__.ts');
  const lines: string[] = [];
  objects.forEach((o, i) => {
    const { module, type } = modelModule(o);
    lines.push(`import type { ${type} as T${i} } from '${module}';`);
    lines.push(`// ${o.kind}/${o.metadata?.name}`);
    lines.push(`export const o${i}: T${i} = ${JSON.stringify(o, null, 2)};`);
  });
  const source = `${lines.join('\n')}\n`;
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.getSourceFile = (name, language, ...rest) => (name === file ? ts.createSourceFile(name, source, language) : getSourceFile(name, language, ...rest));
  host.fileExists = (name) => name === file || fileExists(name);
  host.readFile = (name) => (name === file ? source : readFile(name));
  const program = ts.createProgram([file], options, host);
  const sourceLines = source.split('\n');
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName === file || !d.file)
    .map((d) => {
      const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
      if (!d.file || d.start === undefined) return message;
      const { line } = d.file.getLineAndCharacterOfPosition(d.start);
      // Name the object the error is in: the nearest "// Kind/name" line above it.
      let owner = '';
      for (let l = line; l >= 0; l--) {
        const m = /^\/\/ (.+)$/.exec(sourceLines[l] ?? '');
        if (m) {
          owner = m[1]!;
          break;
        }
      }
      return `${owner}: ${message.split('\n')[0]} (at ${sourceLines[line]?.trim()})`;
    });
}
