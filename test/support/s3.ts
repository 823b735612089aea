import { S3Client } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopProcess } from './servers.js';

export interface RunningS3 {
  endpoint: string;
  port: number;
  /** A client for this server, with the credentials given (s3rver's own by default). */
  client(credentials?: { accessKeyId: string; secretAccessKey: string }): S3Client;
  stop(): Promise<void>;
}

/** s3rver's built-in credentials: it checks every signature against them. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** A real S3-protocol server (@20minutes/s3rver) in its own process on a free loopback port. */
export async function startS3(buckets: string[]): Promise<RunningS3> {
  const dir = mkdtempSync(join(tmpdir(), 's3rver-'));
  const main = fileURLToPath(new URL('./s3rver-main.cjs', import.meta.url));
  const child = spawn(process.execPath, [main, dir, ...buckets], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const found = /listening on (\d+)/.exec(output);
      if (found) resolve(Number(found[1]));
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', () => reject(new Error(`s3rver did not start:\n${output}`)));
    setTimeout(() => reject(new Error(`s3rver did not start in 15 s:\n${output}`)), 15_000).unref();
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const clients: S3Client[] = [];
  return {
    endpoint,
    port,
    client(credentials = S3RVER_CREDENTIALS) {
      const client = new S3Client({
        endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials,
        // s3rver knows no flexible checksums.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
      clients.push(client);
      return client;
    },
    stop: () => {
      clients.forEach((client) => client.destroy());
      return stopProcess(child, dir);
    },
  };
}

/** Pseudo-random bytes (seeded): what is stored, to compare with what comes back. */
export function seededBytes(size: number, seed: number): Buffer {
  const data = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    data[i] = x >> 16;
  }
  return data;
}
