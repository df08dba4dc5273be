// The two scale-out layouts (docker-compose.scale.yml and deploy/kubernetes/qumulo-flow.yaml)
// describe the same thing: N replicas of one image running one flow (docker/scale/flows.json)
// with Redis (AOF on) beside them, readiness from the same endpoint, the same environment.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import yaml from 'js-yaml';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const read = (rel: string) => fs.readFileSync(path.join(REPO_ROOT, rel), 'utf8');

type K8sDoc = { kind: string; metadata: { name: string }; data?: Record<string, string>; spec?: any }; // eslint-disable-line @typescript-eslint/no-explicit-any
type FlowNode = Record<string, unknown> & { id: string; type: string };

describe('scale-out deployment files: compose and Kubernetes agree', () => {
  const compose = yaml.load(read('docker-compose.scale.yml')) as { services: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  const docs = yaml.loadAll(read('deploy/kubernetes/qumulo-flow.yaml')) as K8sDoc[];
  const find = (kind: string, name: string) => {
    const doc = docs.find((d) => d.kind === kind && d.metadata.name === name);
    assert.ok(doc, `${kind} ${name} missing from the Kubernetes example`);
    return doc;
  };
  const nr = compose.services['node-red'];
  const deployment = find('Deployment', 'qumulo-flow');
  const container = deployment.spec.template.spec.containers[0];
  const flows = JSON.parse(read('docker/scale/flows.json')) as FlowNode[];

  it('runs the same image with the same number of replicas', () => {
    assert.equal(container.image, nr.image);
    assert.match(String(nr.deploy.replicas), /^\$\{NODE_RED_REPLICAS:-(\d+)\}$/);
    assert.equal(deployment.spec.replicas, Number(/:-(\d+)/.exec(String(nr.deploy.replicas))![1]));
  });

  it('runs one flow on every replica: the ConfigMap carries docker/scale/flows.json and its credentials, mounted read-only like the compose volumes', () => {
    const configMap = find('ConfigMap', 'qumulo-flow-flows');
    assert.deepEqual(JSON.parse(configMap.data!['flows.json']), flows);
    assert.deepEqual(JSON.parse(configMap.data!['flows_cred.json']), JSON.parse(read('docker/scale/flows_cred.json')));
    const mounts = container.volumeMounts as Array<{ mountPath: string; subPath?: string; readOnly?: boolean }>;
    for (const file of ['flows.json', 'flows_cred.json']) {
      assert.ok(mounts.some((m) => m.mountPath === `/data/${file}` && m.subPath === file && m.readOnly === true), `${file} not mounted read-only`);
      assert.ok((nr.volumes as string[]).includes(`./docker/scale/${file}:/data/${file}:ro`), `compose does not mount ${file}`);
    }
  });

  it('passes the same environment, secrets from a Secret, Redis at redis:6379', () => {
    const composeKeys = Object.keys(nr.environment).sort();
    const envConfig = find('ConfigMap', 'qumulo-flow-env').data!;
    const k8sKeys = [...Object.keys(envConfig), ...(container.env as Array<{ name: string }>).map((e) => e.name)].sort();
    assert.deepEqual(k8sKeys, composeKeys);
    assert.equal(nr.environment.REDIS_URL, 'redis://redis:6379');
    assert.equal(envConfig.REDIS_URL, 'redis://redis:6379');
    for (const secret of ['NODE_RED_CREDENTIAL_SECRET', 'NODE_RED_ADMIN_PASSWORD_HASH', 'NODE_RED_ADMIN_PASSWORD', 'QUMULO_PASSWORD', 'QUMULO_ACCESS_TOKEN']) {
      const entry = (container.env as Array<{ name: string; valueFrom?: { secretKeyRef?: unknown } }>).find((e) => e.name === secret);
      assert.ok(entry?.valueFrom?.secretKeyRef, `${secret} must come from the Secret`);
      assert.ok(!(secret in envConfig), `${secret} in a ConfigMap`);
    }
    assert.equal(find('Service', 'redis').spec.ports[0].port, 6379);
  });

  it('is ready when the compose healthcheck would pass (the login endpoint on 1880), with room for the lease handover on stop', () => {
    const check = (nr.healthcheck.test as string[]).join(' ');
    const url = /'http:\/\/127\.0\.0\.1:' \+ \(process\.env\.PORT \|\| (\d+)\) \+ '([^']+)'/.exec(check);
    assert.ok(url, check);
    for (const probe of [container.readinessProbe, container.livenessProbe]) {
      assert.equal(probe.httpGet.path, url![2]);
      assert.equal(probe.httpGet.port, Number(url![1]));
    }
    assert.equal(deployment.spec.template.spec.terminationGracePeriodSeconds, Number(/^(\d+)s$/.exec(nr.stop_grace_period)![1]));
  });

  it('runs Redis with the append-only file in both', () => {
    const redisDeployment = find('Deployment', 'redis');
    const args = (redisDeployment.spec.template.spec.containers[0].args as string[]).join(' ');
    const command = (compose.services.redis.command as string[]).join(' ');
    assert.equal(args, command);
    assert.match(command, /--appendonly yes/);
    assert.equal(redisDeployment.spec.template.spec.containers[0].image, compose.services.redis.image);
  });

  it('the shared flow elects its watcher through Redis and lets every replica consume under its own name', () => {
    const watch = flows.find((n) => n.type === 'qumulo-watch')!;
    const redis = flows.find((n) => n.type === 'qumulo-redis')!;
    assert.equal(watch.redis, redis.id, 'the watch must elect through the Redis config');
    assert.match(String(watch.lease), /^\d+s$/);
    assert.equal(redis.url, '${REDIS_URL}');
    const out = flows.find((n) => n.type === 'qumulo-redis-out')!;
    assert.deepEqual((watch.wires as string[][])[0], [out.id], 'events go straight to qumulo-redis-out (msg.lease travels with them)');
    const consumer = flows.find((n) => n.type === 'qumulo-redis-in')!;
    assert.equal(consumer.consumer, '', 'a fixed consumer name would make the replicas one consumer');
    assert.equal(consumer.stream, out.stream);
    assert.ok(!JSON.stringify(flows).includes('"credentials"'), 'credentials belong in flows_cred.json');
    for (const value of Object.values(JSON.parse(read('docker/scale/flows_cred.json')) as Record<string, Record<string, string>>).flatMap((c) => Object.values(c))) {
      assert.match(value, /^\$\{[A-Z_]+\}$/, 'only ${ENV} references in the shared credentials');
    }
  });
});
