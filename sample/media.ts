import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Where the sample keeps its files; the proxy's x-sendfile docroot is this same folder. */
export function mediaRoot(): string {
  return resolve(process.env.SAMPLE_MEDIA_ROOT ?? join(process.cwd(), 'sample', 'media'));
}

/** The example of a name that is not ASCII: `GET /lighttpd/files/report%20%C3%A9t%C3%A9.pdf`. */
export const REPORT_PDF = 'report été.pdf';

/**
 * Creates the demo files (django-downloadview's demo writes the same hello-world.txt), and a small
 * PDF under a non-ASCII name in the lighttpd folder.
 */
export function seedMedia(root: string): void {
  for (const dir of [
    'lighttpd',
    'decorated',
    'private',
    'unmatched',
    'nginx',
    'apache',
    'apache-optimized-by-decorator',
  ]) {
    mkdirSync(join(root, dir), { recursive: true });
    writeFileSync(join(root, dir, 'hello-world.txt'), 'Hello world!\n');
  }
  writeFileSync(join(root, 'lighttpd', REPORT_PDF), onePagePdf("Summer report (rapport d'été)"));
}

/** A valid one-page PDF showing `text` (Latin-1), written here rather than shipped as a binary. */
function onePagePdf(text: string): Buffer {
  const escaped = text.replace(/[\\()]/g, '\\$&');
  const content = `BT /F1 24 Tf 72 760 Td (${escaped}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
  ];
  let pdf = '%PDF-1.4\n';
  const offsets = objects.map((object, i) => {
    const offset = Buffer.byteLength(pdf, 'latin1');
    pdf += `${i + 1} 0 obj\n${object}\nendobj\n`;
    return offset;
  });
  const xref = Buffer.byteLength(pdf, 'latin1');
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  pdf += offsets.map((offset) => `${String(offset).padStart(10, '0')} 00000 n \n`).join('');
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(pdf, 'latin1');
}
