#!/usr/bin/env node
// Slow clients for `npm run bench -- --slow-clients`, in their own process so that their CPU is not
// the app's: N downloads of one file, each read at a capped rate (the reader pauses the response
// when ahead of its budget; TCP's window then holds the sender back, as a slow link does).
//   node bench/slow-clients.mjs <url> <clients> <bytes per second> <seconds> <source file>
// Prints `ready` once every client has its headers, then, after <seconds>, one JSON line: how many
// downloads were in flight or complete with the right bytes, when the clients had their headers and
// their first byte, and how many failed (error, status, early end, wrong bytes, or fewer than half
// the bytes their rate allows: a stall). Then it exits.
import { get } from 'node:http';
import { readFileSync } from 'node:fs';

const [url, clientsArg, rateArg, secondsArg, sourceFile] = process.argv.slice(2);
const clients = Number(clientsArg);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const source = readFileSync(sourceFile);
const failures = {};
const fail = (client, why) => {
  if (client.failed) return;
  client.failed = why;
  failures[why] = (failures[why] ?? 0) + 1;
};

function download() {
  const client = { received: 0, headers: false, done: false, failed: undefined, start: 0, opened: performance.now() };
  client.ready = new Promise((resolve) => {
    const request = get(url, { agent: false }, (response) => {
      client.headers = true;
      client.start = performance.now();
      resolve();
      if (response.statusCode !== 200) {
        fail(client, `status ${response.statusCode}`);
        response.resume();
        return;
      }
      response.on('data', (chunk) => {
        client.firstByte ??= performance.now();
        if (!chunk.equals(source.subarray(client.received, client.received + chunk.length)))
          fail(client, 'wrong bytes');
        client.received += chunk.length;
        const ahead = client.received / rate - (performance.now() - client.start) / 1000;
        if (ahead > 0) {
          response.pause();
          setTimeout(() => response.resume(), ahead * 1000);
        }
      });
      response.on('end', () => {
        client.done = true;
        if (client.received !== source.length) fail(client, 'ended early');
      });
      response.on('error', () => fail(client, 'reset'));
    });
    request.on('error', (error) => {
      fail(client, error.code ?? 'error');
      resolve();
    });
    client.request = request;
  });
  return client;
}

const all = [];
const began = performance.now();
// Opened in batches so that the listen backlog is not the thing measured.
for (let i = 0; i < clients; i++) {
  all.push(download());
  if (i % 50 === 49) await new Promise((r) => setTimeout(r, 20));
}
await Promise.all(all.map((c) => c.ready));
const startedIn = (performance.now() - began) / 1000;
console.log('ready');
await new Promise((r) => setTimeout(r, seconds * 1000));
const now = performance.now();
for (const client of all) {
  const expected = Math.min(source.length, (rate * (now - client.start)) / 1000);
  if (!client.done && !client.failed && client.received < expected / 2) fail(client, 'stalled');
}
const failed = all.filter((c) => c.failed).length;
// When each client had its first byte of the body (one still waiting: now; one that failed before
// any, e.g. on its status, is left out), from when the first was opened, and from its own opening.
const waiting = all.filter((c) => c.firstByte !== undefined || !c.failed);
const lastFirstByte = Math.max(0, ...waiting.map((c) => (c.firstByte ?? now) - began)) / 1000;
const waits = waiting.map((c) => (c.firstByte ?? now) - c.opened).sort((a, b) => a - b);
console.log(
  JSON.stringify({
    clients,
    failed,
    failures,
    completed: all.filter((c) => c.done && !c.failed).length,
    mebibytes: all.reduce((sum, c) => sum + c.received, 0) / 2 ** 20,
    // How long until the last client had its headers: a server that is slow to start downloads.
    startedIn,
    // How long until the last client had its first byte of the body, and the median client's wait.
    lastFirstByte,
    firstByteP50: waits.length ? waits[waits.length >> 1] / 1000 : undefined,
    seconds: (now - began) / 1000,
  }),
);
for (const client of all) client.request.destroy();
process.exit(0);
