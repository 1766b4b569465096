// Reading a downloaded file under a size cap: stop at the first byte past it, whatever the platform
// claimed the size was, and never hold more than the cap in memory.
import { AdapterError } from '../core/errors.ts';

export async function readCapped(platform: string, body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > maxBytes) throw new AdapterError(platform, 'rejected', `file is larger than ${maxBytes} bytes`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}
