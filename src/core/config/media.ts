// The `media_processors:` section (the seed's 4.2): which attachments are read, up to what size, and the
// workflow that handles each kind. The seed's block loads as written; `model` (image_analysis only)
// names the vision model, by default the chat model.
//   media_processors:
//     image_analysis:      { enabled: true, max_size: 10MB, allowed_types: [jpg, png, webp], handler: image_analysis_workflow, model: llava }
//     document_processing: { enabled: true, max_size: 20MB, allowed_types: [pdf, docx], handler: document_extraction_workflow }
import { nullish, type output } from 'zod/mini';
import { bool, nonEmpty, obj, size, val } from './kit.ts';

export const IMAGE_TYPES = ['jpg', 'png', 'webp', 'gif'] as const;
export const DOCUMENT_TYPES = ['pdf', 'docx'] as const;
export type ImageType = (typeof IMAGE_TYPES)[number];
export type DocumentType = (typeof DOCUMENT_TYPES)[number];

export interface MediaProcessorConfig<T extends string> {
  readonly enabled: boolean;
  /** Bytes; larger files are refused (and downloads stop reading past it). */
  readonly maxSize: number;
  /** Types as detected from the bytes (never the file name); normalised (jpeg → jpg), no duplicates. */
  readonly allowedTypes: readonly T[];
  /** Name of the action or workflow that handles this kind of attachment. */
  readonly handler: string;
}

export interface ImageAnalysisConfig extends MediaProcessorConfig<ImageType> {
  /** The vision model the image goes to ("" as for models.default: the endpoint's first model). */
  readonly model: string;
}

export interface MediaConfig {
  readonly image: ImageAnalysisConfig;
  readonly document: MediaProcessorConfig<DocumentType>;
}

/** The seed's values: written or not, a fresh install reads images and documents the way 4.2 says. */
export const MEDIA_DEFAULTS = {
  image: { enabled: true, maxSize: 10 * 1024 * 1024, allowedTypes: ['jpg', 'png', 'webp'] as ImageType[], handler: 'image_analysis_workflow' },
  document: { enabled: true, maxSize: 20 * 1024 * 1024, allowedTypes: ['pdf', 'docx'] as DocumentType[], handler: 'document_extraction_workflow' },
} as const;

/** Names people write for the same format; the bytes decide which one a file really is. */
const ALIASES: Readonly<Record<string, string>> = { jpeg: 'jpg', jpe: 'jpg' };

function typeList<T extends string>(known: readonly T[]) {
  return val(`a list of file types from ${known.join(', ')}`, (v) => {
    const items = typeof v === 'string' ? [v] : Array.isArray(v) ? v : undefined;
    if (!items || items.length === 0) return undefined;
    const out: T[] = [];
    for (const item of items) {
      if (typeof item !== 'string') return undefined;
      const t = item.trim().toLowerCase().replace(/^\./, '');
      const name = (ALIASES[t] ?? t) as T;
      if (!known.includes(name)) throw new Error(`expected a list of file types from ${known.join(', ')}, got ${JSON.stringify(item)}`);
      if (!out.includes(name)) out.push(name);
    }
    return out;
  });
}

const handlerName = val('a workflow or action name', nonEmpty);

export const mediaSection = obj({
  image_analysis: nullish(obj({
    enabled: nullish(bool),
    max_size: nullish(size),
    allowed_types: nullish(typeList(IMAGE_TYPES)),
    handler: nullish(handlerName),
    model: nullish(val('a vision model name, like llava or qwen2.5vl', nonEmpty)),
  })),
  document_processing: nullish(obj({
    enabled: nullish(bool),
    max_size: nullish(size),
    allowed_types: nullish(typeList(DOCUMENT_TYPES)),
    handler: nullish(handlerName),
  })),
});

export type RawMedia = output<typeof mediaSection>;

/** `defaultModel`: models.default's model, used for images when `model` is not written. */
export function compileMedia(raw: RawMedia | null | undefined, ctx: { defaultModel: string }): MediaConfig {
  const img = raw?.image_analysis;
  const doc = raw?.document_processing;
  const d = MEDIA_DEFAULTS;
  return {
    image: {
      enabled: img?.enabled ?? d.image.enabled,
      maxSize: img?.max_size ?? d.image.maxSize,
      allowedTypes: img?.allowed_types ?? d.image.allowedTypes,
      handler: img?.handler ?? d.image.handler,
      model: img?.model ?? ctx.defaultModel,
    },
    document: {
      enabled: doc?.enabled ?? d.document.enabled,
      maxSize: doc?.max_size ?? d.document.maxSize,
      allowedTypes: doc?.allowed_types ?? d.document.allowedTypes,
      handler: doc?.handler ?? d.document.handler,
    },
  };
}
