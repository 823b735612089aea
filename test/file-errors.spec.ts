import { fileErrorToHttp } from '../src/http/file-errors.js';

// One mapping for a file that fails when checked, opened or streamed (see serve-download.ts).
describe('fileErrorToHttp', () => {
  const answer = (code?: string) => {
    const error = fileErrorToHttp(Object.assign(new Error(`${code}: /srv/secret/path`), { code }));
    return [error.getStatus(), JSON.stringify(error.getResponse())];
  };

  it.each([
    ['ENOENT', 404],
    ['ENOTDIR', 404],
    ['EISDIR', 404],
    ['ELOOP', 404],
    ['ENAMETOOLONG', 404],
    ['EACCES', 403],
    ['EPERM', 403],
    ['EMFILE', 503],
    ['ENFILE', 503],
    ['EIO', 500],
    [undefined, 500],
  ])('%s → %i, without the path', (code, status) => {
    const [got, body] = answer(code);
    expect(got).toBe(status);
    expect(body).not.toContain('/srv');
    expect(body).toContain(`"statusCode":${status}`);
  });
});
