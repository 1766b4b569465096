// A DOCX is a zip: a few hundred KB can inflate to gigabytes of XML (a zip bomb), far under the file's
// size cap. mammoth inflates each part it reads whole and holds ~80× its XML in memory while parsing
// (measured: 8 MB of document.xml ≈ 660 MB RSS, 32 MB ≈ 2.7 GB), so the parts are inflated here first,
// each stopped as soon as the budget is spent. What does not compress (photos) costs nothing.
import { inflateRawSync } from 'node:zlib';
import { zipEntries } from './detect.ts';
import { MediaError } from './errors.ts';

/** Bytes a DOCX's parts may inflate to beyond their compressed size, all parts together. */
export const MAX_DOCX_EXPANSION = 8 << 20;

const LOCAL_SIGNATURE = 0x04034b50;

/** Throws MediaError('too_large') when the parts inflate past the budget; a damaged zip is left to mammoth. */
export function checkDocxExpansion(bytes: Uint8Array, budget = MAX_DOCX_EXPANSION): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let left = budget;
  for (const e of zipEntries(bytes) ?? []) {
    if (e.method !== 8) continue; // stored parts are their own size; other methods mammoth refuses
    const at = e.localOffset;
    if (at + 30 > bytes.length || view.getUint32(at, true) !== LOCAL_SIGNATURE) continue;
    const start = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
    if (start + e.compressedSize > bytes.length) continue;
    let size: number;
    try {
      size = inflateRawSync(bytes.subarray(start, start + e.compressedSize), { maxOutputLength: e.compressedSize + left + 1 }).length;
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_BUFFER_TOO_LARGE') continue;
      size = Infinity;
    }
    left -= Math.max(0, size - e.compressedSize);
    if (left < 0) {
      throw new MediaError('too_large', `docx part ${e.name} inflates beyond ${budget} bytes more than the file holds (a zip bomb, or a very long document)`,
        { userText: 'That document unpacks to more text than I can read. Please send a shorter one, or the part you are asking about.' });
    }
  }
}
