// The `media_processors:` section: the seed's 4.2 block loads as written; types are checked and
// normalised; the vision model defaults to the chat model.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { compileMedia, mediaSection } from '../src/core/config/media.ts';

const SEED = `
media_processors:
  image_analysis:
    enabled: true
    max_size: 10MB
    allowed_types: ["jpg", "png", "webp"]
    handler: "image_analysis_workflow"
  document_processing:
    enabled: true
    max_size: 20MB
    allowed_types: ["pdf", "docx"]
    handler: "document_extraction_workflow"
`;

function load(yamlText: string) {
  return mediaSection.safeParse((parse(yamlText) as { media_processors: unknown }).media_processors);
}

describe('media_processors config', () => {
  it("loads the seed's section 4.2 as written", () => {
    const r = load(SEED);
    assert.ok(r.success, JSON.stringify(r.error?.issues));
    assert.deepEqual(compileMedia(r.data, { defaultModel: 'llama3.2' }), {
      image: { enabled: true, maxSize: 10 * 1024 * 1024, allowedTypes: ['jpg', 'png', 'webp'], handler: 'image_analysis_workflow', model: 'llama3.2' },
      document: { enabled: true, maxSize: 20 * 1024 * 1024, allowedTypes: ['pdf', 'docx'], handler: 'document_extraction_workflow' },
    });
  });

  it('takes a vision model, jpeg/.PNG spellings, and a single type written as a string', () => {
    const r = load(`
media_processors:
  image_analysis: { model: llava, allowed_types: [JPEG, .PNG, jpg], max_size: 512KB, enabled: false }
  document_processing: { allowed_types: pdf }
`);
    assert.ok(r.success, JSON.stringify(r.error?.issues));
    const c = compileMedia(r.data, { defaultModel: 'llama3.2' });
    assert.equal(c.image.model, 'llava');
    assert.deepEqual(c.image.allowedTypes, ['jpg', 'png']);
    assert.equal(c.image.maxSize, 512 * 1024);
    assert.equal(c.image.enabled, false);
    assert.deepEqual(c.document.allowedTypes, ['pdf']);
    assert.equal(c.document.maxSize, 20 * 1024 * 1024, 'unwritten keys keep the seed defaults');
  });

  it('defaults to the seed values when the section is absent', () => {
    const c = compileMedia(undefined, { defaultModel: '' });
    assert.equal(c.image.enabled, true);
    assert.equal(c.image.handler, 'image_analysis_workflow');
    assert.equal(c.document.handler, 'document_extraction_workflow');
    assert.equal(c.image.model, '');
  });

  it('refuses a type the processor cannot read, naming the ones it can', () => {
    const bad = load('media_processors: { image_analysis: { allowed_types: [png, pdf] } }');
    assert.equal(bad.success, false);
    const msg = bad.error!.issues[0]!.message;
    assert.match(msg, /jpg, png, webp, gif/);
    assert.match(msg, /"pdf"/);
    assert.deepEqual(bad.error!.issues[0]!.path, ['image_analysis', 'allowed_types']);
    assert.equal(load('media_processors: { document_processing: { allowed_types: [exe] } }').success, false);
    assert.equal(load('media_processors: { document_processing: { allowed_types: [] } }').success, false);
  });

  it('refuses unknown keys and bad sizes', () => {
    const typo = load('media_processors: { image_analysis: { max_sise: 10MB } }');
    assert.equal(typo.success, false);
    assert.match(typo.error!.issues[0]!.message, /max_size/);
    assert.equal(load('media_processors: { document_processing: { max_size: huge } }').success, false);
  });
});
