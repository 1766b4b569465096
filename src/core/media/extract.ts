// Text out of a PDF (unpdf: pdf.js without a worker) or a DOCX (mammoth), in memory only: nothing is
// written to disk and nothing is kept after the call. Both libraries are imported on first use, so a
// process that never receives a document never loads (or compiles) them.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reunpack } from '../../reunpack.ts';
import type { DocumentType } from '../config/media.ts';
import { MediaError } from './errors.ts';
import { checkDocxExpansion } from './zip-budget.ts';

export interface ExtractedText {
  readonly text: string;
  /** Pages of a PDF; a DOCX has no fixed pages. */
  readonly pages?: number;
}

/**
 * How much of a PDF is read. pdf.js finds each page by walking the page tree (a flat one of n pages
 * costs O(n²) over the document) and unpdf asked for every page at once: a 3 MB PDF of 20,000 pages took
 * 50 s and 4 GB. Pages are read one at a time, up to `maxPages`, and no further than `maxChars` of text.
 */
export interface ExtractLimits {
  readonly maxPages?: number;
  readonly maxChars?: number;
}

/** Pages read at most by default (~0.2 s of pdf.js on a flat page tree, measured). */
export const MAX_PDF_PAGES = 1000;

export async function extractText(bytes: Uint8Array, type: DocumentType, limits: ExtractLimits = {}): Promise<ExtractedText> {
  if (bytes.length === 0) throw new MediaError('empty', 'zero-byte file');
  const out = type === 'pdf' ? await pdfText(bytes, limits.maxPages ?? MAX_PDF_PAGES, limits.maxChars ?? Infinity) : await docxText(bytes);
  // Whitespace-only text is what a scanned PDF (images, no text layer) gives: nothing to answer from.
  if (out.text.trim() === '') throw new MediaError('empty', `${type} has no text layer`);
  return out;
}

async function pdfText(bytes: Uint8Array, maxPages: number, maxChars: number): Promise<ExtractedText> {
  const { getDocumentProxy } = await import('unpdf');
  let doc;
  try {
    // A copy: pdf.js may take over (detach) the buffer it is given, and the caller's bytes stay theirs.
    // verbosity 0: pdf.js would print font warnings to stdout, which `clawdbot exec` uses for the reply.
    const cMapUrl = cmapFolder();
    doc = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0, ...(cMapUrl ? { cMapUrl, cMapPacked: true } : {}) });
  } catch (err) {
    throw pdfError(err);
  }
  try {
    const texts: string[] = [];
    let chars = 0;
    for (let i = 1; i <= Math.min(doc.numPages, maxPages) && chars < maxChars; i++) {
      const page = await doc.getPage(i);
      // As unpdf's extractText joins a page's items.
      const t = (await page.getTextContent()).items.map((it) => ('str' in it ? it.str + (it.hasEOL ? '\n' : '') : '')).join('').trim();
      page.cleanup();
      if (t !== '') texts.push(t);
      chars += t.length;
    }
    return { text: texts.join('\n\n'), pages: doc.numPages };
  } catch (err) {
    throw pdfError(err);
  } finally {
    // Frees pdf.js' parsed objects and caches: nothing of the file outlives the call.
    await doc.loadingTask.destroy();
  }
}

let fromModules: string | null | undefined;
/** When unpacking the program again last failed (a full disk): not tried at every PDF. */
let repairFailedAt = -Infinity;
const REPAIR_RETRY_MS = 10 * 60_000;

/**
 * Asks the executable to unpack its files again; false where it cannot (not the executable, or a
 * recent attempt failed). A failure only costs the CMap files: such PDFs read as empty, the rest as usual.
 */
function repairAllowed(): boolean {
  if (Date.now() - repairFailedAt < REPAIR_RETRY_MS) return false;
  try {
    return reunpack();
  } catch {
    repairFailedAt = Date.now();
    return false;
  }
}

/**
 * The folder of Adobe's predefined CMaps (pdfjs-dist's packed .bcmap files), with a trailing slash as
 * pdf.js wants it. A PDF whose font is not embedded but named by a predefined CMap (UniGB-UCS2-H with
 * STSong-Light: common in Chinese, Japanese and Korean PDFs) has no readable text without them. The
 * bundle and the executable carry them in cmaps/ next to the program (scripts/build.ts); the executable
 * unpacks them again if a cache cleaner removed them while it ran. From source they come from
 * node_modules. Without either, such PDFs read as empty, the rest as usual.
 */
function cmapFolder(): string | undefined {
  const beside = join(dirname(fileURLToPath(import.meta.url)), 'cmaps');
  const there = () => existsSync(join(beside, 'LICENSE'));
  if (there() || (repairAllowed() && there())) return `${beside}/`;
  if (fromModules === undefined) {
    try {
      fromModules = `${join(dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json')), 'cmaps')}/`;
    } catch {
      fromModules = null;
    }
  }
  return fromModules ?? undefined;
}

/** pdf.js errors are plain objects with a `name` (its classes are not exported by unpdf's main entry). */
function pdfError(err: unknown): MediaError {
  const name = (err as { name?: unknown } | null)?.name;
  const detail = (err as Error | null)?.message ?? String(err);
  if (name === 'PasswordException') return new MediaError('encrypted', `pdf needs a password: ${detail}`, { cause: err });
  return new MediaError('corrupt', `pdf could not be read: ${detail}`, { cause: err });
}

async function docxText(bytes: Uint8Array): Promise<ExtractedText> {
  checkDocxExpansion(bytes);
  const { default: mammoth } = await import('mammoth');
  try {
    const { value } = await mammoth.extractRawText({ buffer: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) });
    return { text: value.replace(/\n{3,}/g, '\n\n').trim() };
  } catch (err) {
    throw new MediaError('corrupt', `docx could not be read: ${(err as Error).message}`, { cause: err });
  }
}
