// Small real files made in tests: a valid 1×1 PNG and one-page PDFs with a given text.
import { deflateSync } from 'node:zlib';

/** A valid 1×1 PNG (signature, IHDR, IDAT, IEND with CRCs). */
export function pngPixel(): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
  const crc = (b: Buffer) => { let c = 0xffffffff; for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const c = Buffer.alloc(4); c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.from([0, 255, 0, 0]))), chunk('IEND', Buffer.alloc(0))]);
}

/** A PDF file of `objs` (object 1 is the catalog) with a correct xref table; `trailer` adds trailer entries. */
export function pdfFile(objs: readonly string[], trailer = ''): Buffer {
  let out = '%PDF-1.4\n';
  const offsets = objs.map((o, i) => {
    const at = out.length;
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
    return at;
  });
  const xref = out.length;
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R${trailer} >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/** A one-page PDF whose text is `text` (Helvetica, Latin-1). */
export function pdfWith(text: string): Buffer {
  return onePage(`(${text})`, '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>');
}

/**
 * A one-page Chinese PDF as many Chinese tools write one: the font is not embedded but named
 * (STSong-Light) with a predefined CMap, UniGB-UCS2-H, so the text's codes are UCS-2 and a reader maps
 * them through Adobe's CMap files (pdf.js: cMapUrl). Characters of the Basic Multilingual Plane only.
 */
export function cjkPdfWith(text: string): Buffer {
  const codes = [...text].map((c) => c.codePointAt(0)!.toString(16).padStart(4, '0')).join('');
  return onePage(`<${codes}>`, '<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H /DescendantFonts [6 0 R] >>', [
    '<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> /FontDescriptor 7 0 R >>',
    '<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>',
  ]);
}

/** Page 3 shows `shown` (a PDF string) in font 5; `more` are objects 6, 7, ... */
function onePage(shown: string, font: string, more: readonly string[] = []): Buffer {
  const stream = `BT /F1 12 Tf 10 50 Td ${shown} Tj ET`;
  return pdfFile([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 100] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    font,
    ...more,
  ]);
}
