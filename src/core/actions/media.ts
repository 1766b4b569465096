// The built-in media handlers (the seed's image_analysis_workflow and document_extraction_workflow):
// the first attachment is downloaded under the size cap (the platform's download stops reading past
// it), its type decided from its bytes, and the caption answered from the image (vision model) or the
// document's text (src/core/media/). A file that cannot be read gets a short reply; nothing is kept.
import { auditEvent, writeAudit } from '../audit.ts';
import { AdapterError } from '../errors.ts';
import { MediaError } from '../media/errors.ts';
import type { Executor } from '../executor.ts';
import type { Turn } from '../turn.ts';
import type { ActionResult } from '../types.ts';

export async function runMedia(ex: Executor, turn: Turn): Promise<ActionResult> {
  const attachment = turn.message.attachments[0];
  if (!attachment) return { status: 'ok', text: 'Send an image or a document (PDF, DOCX) with your question.' };
  if (!turn.download) return { status: 'ok', text: "Files sent here can't be read: this channel does not pass them on." };
  const media = ex.config.media;
  // The larger cap while downloading; the exact one for the detected type is applied to the bytes.
  const cap = Math.max(media.image.enabled ? media.image.maxSize : 0, media.document.enabled ? media.document.maxSize : 0);
  let bytes: Buffer;
  try {
    bytes = await turn.download(attachment.ref, cap, turn.signal);
  } catch (err) {
    if (err instanceof AdapterError && err.kind === 'rejected') {
      return { status: 'failed', text: `That file is too large (the limit is ${Math.round(cap / 1024 / 1024)} MB).`, error: err };
    }
    if (err instanceof AdapterError && err.kind === 'unavailable') {
      return { status: 'failed', text: 'That file is no longer here; please send it again.', error: err };
    }
    throw err;
  }
  const started = Date.now();
  const [{ processAttachment }, client] = await Promise.all([import('../media/process.ts'), ex.chatClient()]);
  const m = ex.config.models.default;
  const r = await processAttachment(bytes, {
    caption: turn.message.text,
    config: media,
    chat: async (req) => (await client.chat({
      messages: req.messages, ...(req.model ? { model: req.model } : {}),
      maxTokens: req.maxTokens ?? m.maxTokens, temperature: m.temperature, signal: turn.signal,
    })).text,
  });
  await writeAudit(ex.store, ex.log, auditEvent(turn.identity, turn.conversation, {
    eventType: 'media_processing', decision: 'allowed', input: `${r.type} ${bytes.length} bytes: ${turn.message.text}`.trim(),
    output: r.ok ? r.text : `${r.reason}: ${r.detail}`, durationMs: Date.now() - started,
  }));
  return r.ok ? { status: 'ok', text: r.text } : { status: 'failed', text: r.text, error: new MediaError(r.reason, `${r.reason}: ${r.detail}`) };
}
