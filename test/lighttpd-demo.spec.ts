import request from 'supertest';
import { join } from 'node:path';
import { assertXSendfile } from 'nestjs-downloadview/testing';
import { startSampleApp, type SampleApp } from './support/sample-app.js';

// django-downloadview's demo tests for lighttpd, and the other ways the sample returns files.
describe('sample app (lighttpd backend)', () => {
  let sample: SampleApp;
  beforeAll(async () => {
    sample = await startSampleApp();
  });
  afterAll(() => sample.close());
  const get = (path: string) => request(sample.app.getHttpServer()).get(path);

  it('optimized-by-middleware: a storage file matched by the module rule', async () => {
    const res = await get('/lighttpd/optimized-by-middleware');
    assertXSendfile(res, {
      basename: 'hello-world.txt',
      contentType: 'text/plain; charset=utf-8',
      filePath: join(sample.root, 'lighttpd', 'hello-world.txt'),
    });
    expect(res.headers['content-disposition']).toBe('attachment; filename=hello-world.txt');
    expect(res.text ?? '').toBe('');
    expect(res.headers.etag).toBeUndefined();
  });

  it('optimized-by-decorator: the route rule matches a URL no module rule covers', async () => {
    const res = await get('/lighttpd/optimized-by-decorator');
    assertXSendfile(res, {
      basename: 'hello-world.txt',
      contentType: 'text/plain; charset=utf-8',
      filePath: join(sample.root, 'decorated', 'hello-world.txt'),
    });
  });

  it('by-path: a DownloadFile.fromPath matched by the sourceDir rule', async () => {
    const res = await get('/lighttpd/by-path');
    assertXSendfile(res, { basename: 'hello-world.txt', filePath: join(sample.root, 'private', 'hello-world.txt') });
  });

  it('plain-stream: a StreamableFile over createReadStream is captured by sourceDir', async () => {
    const res = await get('/lighttpd/plain-stream');
    assertXSendfile(res, {
      basename: 'hello-world.txt',
      contentType: 'text/plain; charset=utf-8',
      filePath: join(sample.root, 'private', 'hello-world.txt'),
    });
  });

  it('files/:name with the example the sample gives, a name that is not ASCII (report été.pdf)', async () => {
    const res = await get('/lighttpd/files/report%20%C3%A9t%C3%A9.pdf');
    assertXSendfile(res, {
      basename: 'report été.pdf',
      contentType: 'application/pdf',
      filePath: join(sample.root, 'lighttpd', 'report été.pdf'),
    });
    // curl -OJ saves by the ASCII filename, browsers and wget by filename*.
    expect(res.headers['content-disposition']).toBe(
      `attachment; filename="report ete.pdf"; filename*=UTF-8''report%20%C3%A9t%C3%A9.pdf`,
    );
  });

  it('virtual files are never delegated: Node serves them', async () => {
    const res = await get('/lighttpd/virtual');
    expect(res.status).toBe(200);
    expect(res.headers['x-sendfile']).toBeUndefined();
    expect(res.text).toBe('Hello virtual world!\n');
    expect(res.headers['content-length']).toBe('21');
    expect(res.headers['content-disposition']).toBe('attachment; filename=hello-virtual.txt');
  });

  it('a file no rule matches passes through: Node streams it', async () => {
    const res = await get('/lighttpd/unmatched');
    expect(res.status).toBe(200);
    expect(res.headers['x-sendfile']).toBeUndefined();
    expect(res.text).toBe('Hello world!\n');
  });

  it('@XSendfile(false) turns conversion off for the route', async () => {
    const res = await get('/lighttpd/not-optimized');
    expect(res.headers['x-sendfile']).toBeUndefined();
    expect(res.text).toBe('Hello world!\n');
  });

  it('a missing file is a 404 that names no path', async () => {
    const res = await get('/lighttpd/files/missing.txt');
    expect(res.status).toBe(404);
    expect(res.text).not.toContain(sample.root);
  });

  it('a name that leaves the storage is refused', async () => {
    const res = await get('/lighttpd/files/..%2Fprivate%2Fhello-world.txt');
    expect(res.status).toBe(400);
    expect(res.headers['x-sendfile']).toBeUndefined();
    expect(res.text).not.toContain(sample.root);
  });

  it('assertXSendfile fails, showing expected and actual, on a response that is not delegated', async () => {
    const res = await get('/lighttpd/unmatched');
    expect(() => assertXSendfile(res, { basename: 'hello-world.txt' })).toThrow(
      /X-Sendfile: expected a value, got none/,
    );
    const delegated = await get('/lighttpd/optimized-by-middleware');
    expect(() => assertXSendfile(delegated, { filePath: '/elsewhere.txt' })).toThrow(
      `filePath: expected "/elsewhere.txt", got "${join(sample.root, 'lighttpd', 'hello-world.txt')}"`,
    );
  });
});
