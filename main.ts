/**
 * The example app: an Ilum-style data platform on RustFS.
 *
 * rekey.yaml declares the provider and the credentials; rekey.ledger.yaml (written by
 * `rekey rotate`) holds generations, key IDs and sealed values. This app adds the platform's
 * own workloads and binds them to the credentials they read, so their pod templates carry the
 * checksum annotation that restarts them on rotation.
 */
import { Chart, type ChartProps } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { loadSpecChart, RekeyApp, runApp } from './lib/index.js';

const S3_SECRET = 'ilum-s3';

/** Ilum core, Jupyter and the Spark history server (Deployments), the Hive Metastore (StatefulSet, OnDelete). */
class IlumChart extends Chart {
  public readonly core: kplus.Deployment;
  public readonly jupyter: kplus.Deployment;
  public readonly historyServer: kplus.Deployment;
  public readonly hiveMetastore: k8s.KubeStatefulSet;
  public readonly compaction: k8s.KubeCronJob;

  public constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { namespace: 'ilum', ...props });
    const s3 = kplus.Secret.fromSecretName(this, 's3', S3_SECRET);
    const fromSecret = (key: string) => kplus.EnvValue.fromSecretValue({ secret: s3, key });

    this.core = new kplus.Deployment(this, 'core', {
      metadata: { name: 'ilum-core' },
      replicas: 2,
      containers: [
        {
          name: 'core',
          image: 'ilum/core:6.4.0',
          portNumber: 8080,
          envFrom: [new kplus.EnvFrom(undefined, 'ILUM_S3_', s3)],
          resources: {},
        },
      ],
    });
    this.jupyter = new kplus.Deployment(this, 'jupyter', {
      metadata: { name: 'ilum-jupyter' },
      containers: [
        {
          name: 'jupyter',
          image: 'ilum/jupyter:6.4.0',
          portNumber: 8888,
          envVariables: { AWS_ACCESS_KEY_ID: fromSecret('access-key'), AWS_SECRET_ACCESS_KEY: fromSecret('secret-key') },
          resources: {},
        },
      ],
    });
    this.historyServer = new kplus.Deployment(this, 'history-server', {
      metadata: { name: 'ilum-history-server' },
      containers: [
        {
          name: 'history-server',
          image: 'ilum/spark-history-server:6.4.0',
          portNumber: 18080,
          envVariables: { RUSTFS_ACCESS_KEY: fromSecret('RUSTFS_ACCESS_KEY'), RUSTFS_SECRET_KEY: fromSecret('RUSTFS_SECRET_KEY') },
          resources: {},
        },
      ],
    });

    const restricted = {
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    };
    const labels = { 'app.kubernetes.io/name': 'hive-metastore' };
    this.hiveMetastore = new k8s.KubeStatefulSet(this, 'hive-metastore', {
      metadata: { name: 'ilum-hive-metastore' },
      spec: {
        serviceName: 'ilum-hive-metastore',
        replicas: 2,
        updateStrategy: { type: 'OnDelete' },
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: 'metastore',
                image: 'ilum/hive:3.1.3',
                ports: [{ containerPort: 9083 }],
                env: [
                  { name: 'S3_ACCESS_KEY', valueFrom: { secretKeyRef: { name: S3_SECRET, key: 'root-user' } } },
                  { name: 'S3_SECRET_KEY', valueFrom: { secretKeyRef: { name: S3_SECRET, key: 'root-password' } } },
                ],
                securityContext: restricted,
              },
            ],
          },
        },
      },
    });
    this.compaction = new k8s.KubeCronJob(this, 'compaction', {
      metadata: { name: 'nightly-compaction' },
      spec: {
        schedule: '30 2 * * *',
        concurrencyPolicy: 'Forbid',
        jobTemplate: {
          spec: {
            backoffLimit: 2,
            template: {
              spec: {
                restartPolicy: 'Never',
                containers: [
                  {
                    name: 'compaction',
                    image: 'ilum/spark:3.5.3',
                    args: ['spark-submit', '--class', 'Compaction', 'local:///opt/jobs/compaction.jar'],
                    env: [{ name: 'AWS_SHARED_CREDENTIALS_FILE', value: '/var/run/s3/credentials' }],
                    volumeMounts: [{ name: 's3', mountPath: '/var/run/s3', readOnly: true }],
                    securityContext: restricted,
                  },
                ],
                volumes: [{ name: 's3', secret: { secretName: 'pipeline-s3', items: [{ key: 'credentials', path: 'credentials' }] } }],
              },
            },
          },
        },
      },
    });
  }
}

runApp(() => {
  const app = new RekeyApp(); // loads rekey.ledger.yaml (the rekey CLI points it at the ledger it renders)
  const spec = loadSpecChart(app, 'rekey'); // rekey.yaml's providers and credentials, as constructs
  const ilum = new IlumChart(app, 'ilum');

  // Bind the workloads to the credentials they read. rekey checks each read against the
  // workload (same Secret, keys, prefix, mount path) or wires it in when the workload lacks it.
  const platform = spec.credential('ilum-platform');
  platform.consumedBy(ilum.core, { envFrom: { prefix: 'ILUM_S3_' } });
  platform.consumedBy(ilum.jupyter, { env: { AWS_ACCESS_KEY_ID: 'access-key', AWS_SECRET_ACCESS_KEY: 'secret-key' } });
  platform.consumedBy(ilum.historyServer, { env: ['RUSTFS_ACCESS_KEY', 'RUSTFS_SECRET_KEY'] });
  platform.consumedBy(ilum.hiveMetastore, { env: ['root-user', 'root-password'] });
  spec.credential('pipeline').consumedBy(ilum.compaction, { file: { mountPath: '/var/run/s3' } });

  app.synth();
});
