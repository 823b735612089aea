// A real S3-protocol server on loopback for the tests (@20minutes/s3rver, which checks SigV4
// signatures in Authorization headers and presigned query strings). Prints its port, then serves
// until it is killed. Arguments: the data folder, then the buckets to create.
const S3rver = require('@20minutes/s3rver');

// s3rver 5.0 builds the canonical query of a presigned URL with encodeURIComponent, which leaves
// ! ' ( ) * as they are; AWS, and every SDK that signs for it, escape them (RFC 3986). A signed
// response-content-disposition with filename*=UTF-8''… then fails here and nowhere else. With this,
// its canonical form is AWS's: it still checks every signature, as the tests show.
const encodeURIComponentJs = globalThis.encodeURIComponent;
globalThis.encodeURIComponent = (value) =>
  encodeURIComponentJs(value).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);

const [directory, ...buckets] = process.argv.slice(2);
const server = new S3rver({
  address: '127.0.0.1',
  port: Number(process.env.S3RVER_PORT ?? 0), // 0: a free port, printed below
  silent: true,
  directory,
  configureBuckets: buckets.map((name) => ({ name, configs: [] })),
  // Path-style URLs only (http://127.0.0.1:port/bucket/key), as the tests' clients use.
  vhostBuckets: false,
});
server.run().then(({ port }) => console.log(`s3rver listening on ${port}`));
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
