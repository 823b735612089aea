import 'reflect-metadata';
import { Controller, Get, Logger, Param, type INestApplication } from '@nestjs/common';
import { jest } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DownloadModule, FileSystemStorage, type DownloadModuleOptions } from 'nestjs-downloadview';
import { createTestApp } from './support/platform.js';
import { fetchBytes, sha256, writeBinaryFile } from './support/servers.js';
import { slowDownload } from './support/slow-client.js';

// A bounded drain at shutdown (shutdownGracePeriod): downloads Node is sending may finish, new file
// requests get a 503, and what still runs at the end is closed and counted.
const dir = mkdtempSync(join(tmpdir(), 'downloadview-drain-'));
// Larger than what the sockets' buffers on both sides hold, so a slow client keeps the server busy.
const SIZE = 64 * 1024 * 1024;
writeBinaryFile(join(dir, 'big.bin'), SIZE, 5);
const SMALL = 4 * 1024 * 1024;
writeBinaryFile(join(dir, 'small.bin'), SMALL, 6);
const storage = new FileSystemStorage({ location: dir });

@Controller()
class DrainController {
  @Get('file/:name')
  file(@Param('name') name: string) {
    return storage.download(name);
  }

  @Get('json')
  json() {
    return { ok: true };
  }
}

async function appWith(options: DownloadModuleOptions): Promise<{ app: INestApplication; port: number }> {
  const moduleRef = await Test.createTestingModule({
    imports: [DownloadModule.forRoot({ mode: 'off', ...options })],
    controllers: [DrainController],
  }).compile();
  const app = await createTestApp(moduleRef);
  await app.listen(0, '127.0.0.1');
  return { app, port: (app.getHttpServer().address() as { port: number }).port };
}

const slow = (port: number, bytesPerTick: number) => slowDownload(port, '/file/big.bin', SIZE, bytesPerTick);

describe('shutdownGracePeriod: a bounded drain of the downloads Node is sending', () => {
  let logs: string[];
  beforeEach(() => {
    logs = [];
    for (const level of ['log', 'warn'] as const) {
      jest
        .spyOn(Logger.prototype, level)
        .mockImplementation((message: unknown) => void logs.push(`${level}: ${String(message)}`));
    }
  });
  afterEach(() => jest.restoreAllMocks());

  it('cuts what still runs at the end of the grace period, counts it, and refuses new files meanwhile', async () => {
    const { app, port } = await appWith({ shutdownGracePeriod: 1500 });
    // 4 KiB per 10 ms: 64 MiB would take minutes.
    const downloads = Array.from({ length: 5 }, () => slow(port, 4096));
    await Promise.all(downloads.map((d) => d.started));
    const started = Date.now();
    const closing = app.close();
    await new Promise((r) => setTimeout(r, 300));
    // Draining: a new file request is a 503 with Retry-After; a route without a file still answers.
    const refused = await fetchBytes(`http://127.0.0.1:${port}/file/big.bin`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(refused.body.length).toBe(0);
    expect((await fetchBytes(`http://127.0.0.1:${port}/json`)).status).toBe(200);
    await closing;
    const took = Date.now() - started;
    const results = await Promise.all(downloads.map((d) => d.done));
    expect(results.map((r) => r.complete)).toEqual([false, false, false, false, false]);
    expect(took).toBeGreaterThanOrEqual(1400);
    expect(took).toBeLessThan(6000);
    expect(logs).toContain('log: shutting down: 5 downloads in flight, waiting up to 1500 ms for them');
    expect(logs).toContain('warn: shutting down: closed 5 downloads still running after the 1500 ms grace period');
  }, 30_000);

  it('lets downloads that finish within the grace period finish whole, and closes as soon as they have', async () => {
    const { app, port } = await appWith({ shutdownGracePeriod: 60_000 });
    // Read as fast as they come: well under the grace period.
    const downloads = Array.from({ length: 3 }, () => slowDownload(port, '/file/small.bin', SMALL, Infinity));
    await Promise.all(downloads.map((d) => d.started));
    const started = Date.now();
    await app.close();
    // Far less than the 60 s it could have waited.
    expect(Date.now() - started).toBeLessThan(30_000);
    const expected = sha256(readFileSync(join(dir, 'small.bin')));
    for (const result of await Promise.all(downloads.map((d) => d.done))) {
      expect(result.complete).toBe(true);
      expect(result.sha256).toBe(expected);
    }
    expect(logs.some((line) => line.startsWith('warn:'))).toBe(false);
  }, 30_000);

  it('must be a whole number of milliseconds', async () => {
    await expect(appWith({ shutdownGracePeriod: -1 })).rejects.toThrow(
      /"shutdownGracePeriod" must be a whole number of milliseconds/,
    );
  });
});
