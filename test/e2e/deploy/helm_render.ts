// Rendering the Helm chart deploy/helm/tokengate (`helm template`, `helm lint`) for the e2e tier, and reading the pod
// of a render in a form that can be compared with the kustomize render of deploy/base. Helm comes from
// scripts/install-helm.sh (a Go build; `npm run test:e2e` runs it and sets HELM_BIN).
import { join } from 'node:path';
import { DEPLOY } from '../../deploy/helpers.js';
import { goToolBin, runTool } from '../helpers/go_tool.js';
import { parseObjects, type K8sObject } from './render.js';

export const CHART = join(DEPLOY, 'helm', 'tokengate');

/** `helm template RELEASE CHART ARGS...`; throws with Helm's output when it fails. */
export function helmTemplate(args: string[] = [], release = 'protected-api'): K8sObject[] {
  const r = runTool(goToolBin('helm'), ['template', release, CHART, ...args]);
  if (r.status !== 0) throw new Error(`helm template ${args.join(' ')} failed (exit ${r.status}):\n${r.output}`);
  return parseObjects(r.stdout);
}

export function helm(args: string[]) {
  return runTool(goToolBin('helm'), args);
}

/**
 * The pod of a render, comparable across kustomize and Helm: the containers whole and in order, the pod-level
 * settings, and each volume with a ConfigMap's name replaced by its data (object names and labels differ by design:
 * the spread constraint's label selector is left out here and checked against the pod's labels by the test).
 */
export function podShape(objects: K8sObject[]) {
  const deployments = objects.filter((o) => o.kind === 'Deployment');
  if (deployments.length !== 1) throw new Error(`expected one Deployment, found ${deployments.length}`);
  const spec = deployments[0]!.spec.template.spec;
  const configMapData = (name: string) => {
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name);
    if (!cm) throw new Error(`no ConfigMap ${name} for a volume of the pod`);
    return cm.data;
  };
  const { initContainers, containers, volumes, topologySpreadConstraints, ...podLevel } = spec;
  return {
    initContainers,
    containers,
    volumes: volumes.map((v: any) => (v.configMap ? { name: v.name, configMapData: configMapData(v.configMap.name) } : v)),
    podLevel,
    topologySpread: topologySpreadConstraints.map(({ labelSelector: _, ...t }: any) => t),
  };
}
