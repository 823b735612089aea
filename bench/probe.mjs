#!/usr/bin/env node
// Probes a JSON route at a fixed rate (open loop: a request every 1/rate s, whether or not the
// last one came back) for the slow-client benchmark, and prints one JSON line of latencies.
//   node bench/probe.mjs <url> <requests per second> <seconds>
import { Agent, get } from 'node:http';

const [url, rateArg, secondsArg] = process.argv.slice(2);
const interval = 1000 / Number(rateArg);
const count = Math.round((Number(secondsArg) * 1000) / interval);
const agent = new Agent({ keepAlive: true, maxSockets: 32 });
const latencies = [];
let errors = 0;

const once = () =>
  new Promise((resolve) => {
    const started = performance.now();
    get(url, { agent }, (response) => {
      response.resume();
      response.on('end', () => {
        if (response.statusCode === 200) latencies.push(performance.now() - started);
        else errors++;
        resolve();
      });
    }).on('error', () => {
      errors++;
      resolve();
    });
  });

const pending = [];
const begin = performance.now();
for (let i = 0; i < count; i++) {
  const wait = begin + i * interval - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  pending.push(once());
}
await Promise.all(pending);
agent.destroy();
latencies.sort((a, b) => a - b);
const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
console.log(JSON.stringify({ requests: count, errors, p50: at(0.5), p99: at(0.99), max: latencies.at(-1) }));
