import { metrics, type Attributes, type MeterProvider } from '@opentelemetry/api';
import type {
  DownloadObserver,
  FileResponseEvent,
  NodeDownloadEnd,
  NodeDownloadStart,
  SignatureRefusal,
  StorageErrorEvent,
  UploadEvent,
} from '../metrics/download-observer.js';
import { ATTRIBUTES, createInstruments, type DownloadInstruments } from './instruments.js';

export interface DownloadMetricsOptions {
  /**
   * Where the instruments come from. Default: the global one (`metrics.getMeterProvider()`), taken
   * at the first event, so that an SDK started after the module was defined still receives them.
   */
  meterProvider?: MeterProvider;
}

const statusClass = (status: number) => `${Math.floor(status / 100)}xx`;

/** `http.route` when the route is known; never the URL. */
function withRoute(attributes: Attributes, route: string | undefined): Attributes {
  if (route !== undefined) attributes[ATTRIBUTES.route] = route;
  return attributes;
}

/** The module's events as OpenTelemetry instruments. */
class OpenTelemetryDownloadObserver implements DownloadObserver {
  #instruments?: DownloadInstruments;

  constructor(private readonly meterProvider?: MeterProvider) {}

  get #record(): DownloadInstruments {
    return (this.#instruments ??= createInstruments(
      (this.meterProvider ?? metrics.getMeterProvider()).getMeter('nestjs-downloadview'),
    ));
  }

  response({ delivery, status, route }: FileResponseEvent): void {
    this.#record.responses.add(
      1,
      withRoute({ [ATTRIBUTES.delivery]: delivery, [ATTRIBUTES.statusClass]: statusClass(status) }, route),
    );
  }

  nodeStarted({ delivery, route }: NodeDownloadStart): void {
    this.#record.active.add(1, withRoute({ [ATTRIBUTES.delivery]: delivery }, route));
  }

  nodeEnded({ delivery, route, status, completed, bytes, seconds }: NodeDownloadEnd): void {
    const record = this.#record;
    record.active.add(-1, withRoute({ [ATTRIBUTES.delivery]: delivery }, route));
    const attributes = withRoute(
      { [ATTRIBUTES.delivery]: delivery, [ATTRIBUTES.statusClass]: statusClass(status) },
      route,
    );
    record.bytesSent.add(bytes, attributes);
    (completed ? record.completed : record.cut).add(1, attributes);
    record.duration.record(seconds, { ...attributes, [ATTRIBUTES.outcome]: completed ? 'completed' : 'cut' });
  }

  signatureRefused({ reason, link, route }: SignatureRefusal): void {
    this.#record.signatureRefused.add(1, withRoute({ [ATTRIBUTES.reason]: reason, [ATTRIBUTES.link]: link }, route));
  }

  storageError({ storage, status }: StorageErrorEvent): void {
    this.#record.storageErrors.add(1, { [ATTRIBUTES.storage]: storage, [ATTRIBUTES.errorType]: String(status) });
  }

  upload({ storage, refusedWith }: UploadEvent): void {
    this.#record.uploads.add(
      1,
      refusedWith === undefined
        ? { [ATTRIBUTES.storage]: storage, [ATTRIBUTES.outcome]: 'saved' }
        : {
            [ATTRIBUTES.storage]: storage,
            [ATTRIBUTES.outcome]: 'refused',
            [ATTRIBUTES.errorType]: String(refusedWith),
          },
    );
  }
}

/**
 * The module's metrics as OpenTelemetry instruments, for `DownloadModule.forRoot({ metrics })`.
 * Without an SDK, `@opentelemetry/api`'s no-op meter makes them cost next to nothing.
 */
export function downloadMetrics(options: DownloadMetricsOptions = {}): DownloadObserver {
  return new OpenTelemetryDownloadObserver(options.meterProvider);
}
