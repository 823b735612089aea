/** Thrown at startup for an invalid `DownloadModule` configuration. */
export class DownloadConfigError extends Error {
  constructor(where: string, field: string, problem: string) {
    super(`nestjs-downloadview: ${where}: "${field}" ${problem}`);
    this.name = 'DownloadConfigError';
  }
}
