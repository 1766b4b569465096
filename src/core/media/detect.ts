// What a file is, decided from its bytes alone: a file's name and the MIME type a platform reports are
// whatever the sender (or their client) said, so a PDF renamed photo.png is still a PDF here.
import type { DocumentType, ImageType } from '../config/media.ts';

export type MediaType = ImageType | DocumentType | 'unknown';

const ascii = (bytes: Uint8Array, at: number, s: string) => {
  if (at + s.length > bytes.length) return false;
  for (let i = 0; i < s.length; i++) if (bytes[at + i] !== s.charCodeAt(i)) return false;
  return true;
};

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** PDF readers accept the header anywhere in the first 1024 bytes (some generators put junk first). */
const PDF_HEADER_WINDOW = 1024;

export function detectType(bytes: Uint8Array): MediaType {
  if (PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpg';
  if (ascii(bytes, 0, 'RIFF') && ascii(bytes, 8, 'WEBP')) return 'webp';
  if (ascii(bytes, 0, 'GIF87a') || ascii(bytes, 0, 'GIF89a')) return 'gif';
  if (hasPdfHeader(bytes)) return 'pdf';
  if (ascii(bytes, 0, 'PK\x03\x04') && zipEntryNames(bytes)?.includes('word/document.xml')) return 'docx';
  return 'unknown';
}

/**
 * The kind of an attachment whose bytes are at hand (a client's upload, `exec --attach`): an image
 * (which media_processors.image_analysis handles) or a file (document_processing, which reads the
 * type from the bytes again). An image's signature is in its first 12 bytes.
 */
export function attachmentKind(head: Uint8Array): 'image' | 'file' {
  return isImageType(detectType(head)) ? 'image' : 'file';
}

export const isImageType = (t: MediaType): t is ImageType => t === 'png' || t === 'jpg' || t === 'webp' || t === 'gif';
export const isDocumentType = (t: MediaType): t is DocumentType => t === 'pdf' || t === 'docx';

function hasPdfHeader(bytes: Uint8Array): boolean {
  const end = Math.min(bytes.length, PDF_HEADER_WINDOW);
  for (let i = 0; i + 5 <= end; i++) if (bytes[i] === 0x25 && ascii(bytes, i, '%PDF-')) return true;
  return false;
}

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const EOCD_SIZE = 22;
/** The end record may be followed by a comment of up to 65535 bytes. */
const MAX_COMMENT = 0xffff;

/** An entry of a ZIP's central directory: where its data starts and how it is stored. */
export interface ZipEntry {
  readonly name: string;
  /** 0 stored, 8 deflated (what Word writes). */
  readonly method: number;
  readonly compressedSize: number;
  /** Offset of the entry's local header. */
  readonly localOffset: number;
}

/**
 * Names in a ZIP's central directory, or undefined when there is none to read (truncated, not a zip).
 * Every Office Open XML file is a zip; only a Word document has word/document.xml, which is what makes
 * it a DOCX rather than an XLSX, a JAR or any other archive.
 */
export function zipEntryNames(bytes: Uint8Array): string[] | undefined {
  return zipEntries(bytes)?.map((e) => e.name);
}

/** The entries of a ZIP's central directory, or undefined when there is none to read. */
export function zipEntries(bytes: Uint8Array): ZipEntry[] | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stop = Math.max(0, bytes.length - EOCD_SIZE - MAX_COMMENT);
  for (let at = bytes.length - EOCD_SIZE; at >= stop; at--) {
    if (view.getUint32(at, true) !== EOCD_SIGNATURE) continue;
    const count = view.getUint16(at + 10, true);
    const dirSize = view.getUint32(at + 12, true);
    const dirStart = view.getUint32(at + 16, true);
    if (dirStart + dirSize > at) continue; // a stray signature inside the comment or the data
    return readCentralDirectory(bytes, view, dirStart, dirStart + dirSize, count);
  }
  return undefined;
}

function readCentralDirectory(bytes: Uint8Array, view: DataView, start: number, end: number, count: number): ZipEntry[] | undefined {
  const entries: ZipEntry[] = [];
  const decoder = new TextDecoder();
  let at = start;
  for (let i = 0; i < count; i++) {
    if (at + 46 > end || view.getUint32(at, true) !== CENTRAL_SIGNATURE) return undefined;
    const nameLen = view.getUint16(at + 28, true);
    const extraLen = view.getUint16(at + 30, true);
    const commentLen = view.getUint16(at + 32, true);
    if (at + 46 + nameLen > end) return undefined;
    entries.push({
      name: decoder.decode(bytes.subarray(at + 46, at + 46 + nameLen)),
      method: view.getUint16(at + 10, true), compressedSize: view.getUint32(at + 20, true), localOffset: view.getUint32(at + 42, true),
    });
    at += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}
