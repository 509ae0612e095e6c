// The shipped envoy/envoy.yaml with Envoy's OpenTelemetry tracer turned on, as an operator would: the connection
// manager traces every request (random_sampling defaults to 100%) and exports OTLP/gRPC to a cluster; the ext_authz
// filter then calls tokengate inside that trace, its gRPC client injecting its own span's traceparent into the call.
import { parse, stringify } from 'yaml';

export function withOpenTelemetryTracer(yaml: string, otlpGrpcPort: number): string {
  const config = parse(yaml) as {
    static_resources: { listeners: any[]; clusters: any[] };
    layered_runtime?: unknown;
  };
  const ingress = config.static_resources.listeners.find((l) => l.name === 'ingress');
  const hcm = ingress.filter_chains[0].filters.find(
    (f: { name: string }) => f.name === 'envoy.filters.network.http_connection_manager',
  ).typed_config;
  hcm.tracing = {
    provider: {
      name: 'envoy.tracers.opentelemetry',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig',
        grpc_service: { envoy_grpc: { cluster_name: 'otlp' }, timeout: '1s' },
        service_name: 'envoy',
      },
    },
  };
  config.static_resources.clusters.push({
    name: 'otlp',
    type: 'STATIC',
    connect_timeout: '1s',
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
    load_assignment: {
      cluster_name: 'otlp',
      endpoints: [
        {
          lb_endpoints: [
            { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: otlpGrpcPort } } } },
          ],
        },
      ],
    },
  });
  // Export each span at once rather than in batches of 5 every 5 s, so the test's query finds them soon.
  config.layered_runtime = {
    layers: [
      {
        name: 'tracing',
        static_layer: { 'tracing.opentelemetry.min_flush_spans': 1, 'tracing.opentelemetry.flush_interval_ms': 100 },
      },
    ],
  };
  return stringify(config);
}
