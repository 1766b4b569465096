// One attachment with its caption → a reply. Images go to the vision model with the caption as the
// question; documents are read to text and answered from, long ones by map/reduce within a fixed number
// of model calls. A file that cannot be read (too large, a type not allowed, encrypted, damaged, empty)
// becomes a short reply, never an exception; model failures do propagate (ModelError), for the executor
// to report as it reports any other model turn.
import type { DocumentType, ImageType, MediaConfig } from '../config/media.ts';
import { chunkText, clipTokens } from './chunk.ts';
import { detectType, isDocumentType, isImageType, type MediaType } from './detect.ts';
import { MediaError, type MediaErrorKind } from './errors.ts';
import { extractText } from './extract.ts';

/** A message as the model client gets it; `images` only on the user message of an image request. */
export interface MediaChatMessage {
  readonly role: 'system' | 'user';
  readonly content: string;
  /** Base64 (no data: prefix) of each image, as Ollama's `images` field takes them. */
  readonly images?: readonly string[];
}

export interface MediaChatRequest {
  /** The model to ask: set for images (the vision model); absent means the chat model. */
  readonly model?: string;
  readonly messages: readonly MediaChatMessage[];
  /** A cap on the answer's length (the notes of a map step); absent: the action's usual max_tokens. */
  readonly maxTokens?: number;
}

/** How much of a document one request may carry, and how many requests one document may cost. */
export interface DocumentBudget {
  /** Estimated tokens of document text per request (a 4k-token context minus prompt and answer). */
  readonly chunkTokens: number;
  /** Model calls per document, the final answer included (at least 2 for map/reduce). */
  readonly maxCalls: number;
  /** Answer cap for each part's notes. */
  readonly notesTokens: number;
}

/** Sized for a small local model on 2 cores: each call costs seconds, so few and bounded. */
export const DEFAULT_BUDGET: DocumentBudget = { chunkTokens: 2500, maxCalls: 6, notesTokens: 300 };

export interface ProcessOptions {
  /** The text sent with the file (may be empty). */
  readonly caption: string;
  readonly config: MediaConfig;
  readonly chat: (req: MediaChatRequest) => Promise<string>;
  readonly budget?: DocumentBudget;
}

export type MediaReply =
  | { readonly ok: true; readonly type: ImageType | DocumentType; readonly text: string; readonly calls: number }
  | { readonly ok: false; readonly type: MediaType; readonly reason: MediaErrorKind; readonly text: string; readonly detail: string };

const IMAGE_QUESTION = 'Describe this image.';
const DOCUMENT_QUESTION = 'Summarise this document in a few sentences.';

export async function processAttachment(bytes: Uint8Array, opts: ProcessOptions): Promise<MediaReply> {
  const type = bytes.length === 0 ? 'unknown' : detectType(bytes);
  try {
    if (bytes.length === 0) throw new MediaError('empty', 'zero-byte file', { userText: 'That file is empty.' });
    if (isImageType(type)) return await image(bytes, type, opts);
    if (isDocumentType(type)) return await document(bytes, type, opts);
    throw new MediaError('unsupported', 'unrecognised file type', { userText: unsupportedText(opts.config) });
  } catch (err) {
    if (!(err instanceof MediaError)) throw err;
    return { ok: false, type, reason: err.kind, text: err.userText, detail: err.message };
  }
}

/** Enabled, of an allowed type and within the size cap, or the MediaError that says which not. */
function admit(bytes: Uint8Array, type: ImageType | DocumentType, c: MediaConfig['image'] | MediaConfig['document'], config: MediaConfig): void {
  const allowed = c.allowedTypes as readonly string[];
  if (!c.enabled || !allowed.includes(type)) {
    throw new MediaError('unsupported', `${type} not accepted (enabled: ${c.enabled}, allowed: ${allowed.join(', ')})`, { userText: unsupportedText(config, type) });
  }
  if (bytes.length > c.maxSize) {
    throw new MediaError('too_large', `${bytes.length} bytes > ${c.maxSize}`, { userText: `That file is too large: I read ${type.toUpperCase()} files up to ${formatSize(c.maxSize)}.` });
  }
}

async function image(bytes: Uint8Array, type: ImageType, opts: ProcessOptions): Promise<MediaReply> {
  const c = opts.config.image;
  admit(bytes, type, c, opts.config);
  const question = opts.caption.trim() || IMAGE_QUESTION;
  const images = [Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')];
  const text = await opts.chat({ model: c.model, messages: [{ role: 'user', content: question, images }] });
  return { ok: true, type, text, calls: 1 };
}

async function document(bytes: Uint8Array, type: DocumentType, opts: ProcessOptions): Promise<MediaReply> {
  admit(bytes, type, opts.config.document, opts.config);
  const budget = opts.budget ?? DEFAULT_BUDGET;
  // Text beyond what maxCalls chunks hold is never read (≈ 4 characters per token at most): not extracted.
  const { text } = await extractText(bytes, type, { maxChars: budget.chunkTokens * 4 * budget.maxCalls });
  const question = opts.caption.trim() || DOCUMENT_QUESTION;
  const chunks = chunkText(text, budget.chunkTokens);
  if (chunks.length === 1) {
    const answer = await opts.chat(answerRequest('the document', chunks[0]!, question));
    return { ok: true, type, text: answer, calls: 1 };
  }
  return { ok: true, type, ...(await mapReduce(chunks, question, budget, opts.chat)) };
}

/**
 * Notes on each part with the question in mind (map), then one answer from all notes (reduce). A
 * document with more parts than the budget allows is read from the start, and the reply says how much.
 * The notes are clipped so that together they fit one request: the reduce never needs a second round.
 */
async function mapReduce(chunks: readonly string[], question: string, budget: DocumentBudget, chat: ProcessOptions['chat']): Promise<{ text: string; calls: number }> {
  const read = chunks.slice(0, Math.max(1, budget.maxCalls - 1));
  const perNote = Math.max(50, Math.floor(budget.chunkTokens / read.length));
  const notes: string[] = [];
  for (const [i, part] of read.entries()) {
    const note = await chat({
      maxTokens: budget.notesTokens,
      messages: [
        { role: 'system', content: `You are reading part ${i + 1} of ${chunks.length} of a document. Write brief notes of everything in this part that helps answer the question. If nothing does, summarise the part in one sentence.` },
        { role: 'user', content: `Part ${i + 1}:\n"""\n${part}\n"""\n\nQuestion: ${question}` },
      ],
    });
    notes.push(`Part ${i + 1}: ${clipTokens(note.trim(), perNote)}`);
  }
  const answer = await chat(answerRequest('notes taken from the parts of a document', notes.join('\n\n'), question));
  const skipped = chunks.length - read.length;
  const text = skipped > 0 ? `${answer}\n\n(The document is long: I read the first ${read.length} of its ${chunks.length} parts.)` : answer;
  return { text, calls: read.length + 1 };
}

function answerRequest(what: string, body: string, question: string): MediaChatRequest {
  return {
    messages: [
      { role: 'system', content: `Answer the question from ${what} below. If it does not contain the answer, say so briefly.` },
      { role: 'user', content: `"""\n${body}\n"""\n\nQuestion: ${question}` },
    ],
  };
}

function unsupportedText(config: MediaConfig, type?: MediaType): string {
  const accepted = [
    ...(config.image.enabled ? config.image.allowedTypes : []),
    ...(config.document.enabled ? config.document.allowedTypes : []),
  ].map((t) => t.toUpperCase());
  const what = type && type !== 'unknown' ? `${type.toUpperCase()} files` : 'that kind of file';
  return accepted.length ? `I can't read ${what} here. I can read: ${accepted.join(', ')}.` : "I can't read attachments here; please send your question as text.";
}

function formatSize(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  if (mb >= 1) return `${Number.isInteger(mb) ? mb : mb.toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}
