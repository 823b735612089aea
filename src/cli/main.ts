#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { formatHealthcheck, runHealthcheck } from '../health/healthcheck.js';

const usage = `usage: nestjs-downloadview healthcheck --app <url of a download route on the app> --proxy <same route through the proxy> [--file <path on disk>] [--timeout <ms>]`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'healthcheck') {
    console.error(usage);
    return 2;
  }
  let values: { app?: string; proxy?: string; file?: string; timeout?: string };
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        app: { type: 'string' },
        proxy: { type: 'string' },
        file: { type: 'string' },
        timeout: { type: 'string' },
      },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    return 2;
  }
  if (!values.app || !values.proxy) {
    console.error(usage);
    return 2;
  }
  const steps = await runHealthcheck({
    app: values.app,
    proxy: values.proxy,
    file: values.file,
    timeout: values.timeout ? Number(values.timeout) : undefined,
  });
  console.log(formatHealthcheck(steps));
  return steps.every((step) => step.ok) ? 0 : 1;
}

void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
