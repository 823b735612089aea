import { Controller, Get, Header } from '@nestjs/common';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { downloadMetrics } from 'nestjs-downloadview/otel';

// The sample's choice, not the module's: the metrics SDK with a Prometheus reader, scraped on the
// app's own GET /metrics (not the exporter's server on port 9464). Any OpenTelemetry setup works:
// the module only needs @opentelemetry/api and a meter provider, the global one by default.
const prometheus = new PrometheusExporter({ preventServerStart: true });
const meterProvider = new MeterProvider({ readers: [prometheus] });
const serializer = new PrometheusSerializer();

/** The `metrics` option of the sample's DownloadModule. */
export const sampleMetrics = () => downloadMetrics({ meterProvider });

@Controller('metrics')
export class MetricsController {
  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(): Promise<string> {
    const { resourceMetrics } = await prometheus.collect();
    return serializer.serialize(resourceMetrics);
  }
}
