// Text of a PDF or DOCX file for `memory import`: the type from the bytes (src/core/media), nothing kept.
import { readFile } from 'node:fs/promises';
import { detectType } from '../core/media/detect.ts';
import { extractText } from '../core/media/extract.ts';

export async function extractFile(path: string): Promise<string> {
  const bytes = await readFile(path);
  const type = detectType(bytes);
  if (type !== 'pdf' && type !== 'docx') throw new Error(`${path}: not a PDF or DOCX (the bytes say ${type})`);
  return (await extractText(bytes, type, { maxPages: Infinity })).text; // the operator's own files: all of them
}
