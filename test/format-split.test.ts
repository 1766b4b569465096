// Splitting long replies: limits in each unit, Unicode (emoji, flags, skin tones, combining marks,
// surrogate pairs, CJK without spaces), formatting across cuts, and properties on generated inputs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { measure, renderMessages, type Markup, type TextUnit } from '../src/adapters/format/index.ts';

const graphemeSeg = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const graphemes = (s: string) => Array.from(graphemeSeg.segment(s), (x) => x.segment);

// ---- an independent checker for Telegram's HTML parse mode --------------------------------------

const TG_TAGS = new Set(['b', 'i', 'u', 's', 'code', 'pre', 'a', 'blockquote', 'tg-spoiler']);
const ENTITY = /^&(amp|lt|gt|quot|#\d{1,7}|#x[0-9a-fA-F]{1,6});/;

/** Problems with `html` as a Telegram HTML message: unknown tags, bad nesting, bare & < >, bad attributes. */
function telegramProblems(html: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  let i = 0;
  while (i < html.length) {
    const c = html[i]!;
    if (c === '<') {
      const end = html.indexOf('>', i);
      if (end < 0) {
        problems.push(`unterminated tag at ${i}`);
        break;
      }
      const m = /^(\/?)([a-z-]+)((?: [a-z]+="[^"]*")*)$/.exec(html.slice(i + 1, end));
      if (!m) problems.push(`malformed tag ${html.slice(i, end + 1)}`);
      else if (m[1]) {
        if (m[3]) problems.push(`attributes on a closing tag ${m[0]}`);
        const top = stack.pop();
        if (top !== m[2]) problems.push(`</${m[2]}> closes <${top}>`);
      } else {
        const [, , name, attrs] = m as unknown as [string, string, string, string];
        if (!TG_TAGS.has(name)) problems.push(`tag <${name}> not allowed`);
        const parent = stack.at(-1);
        if (stack.includes('code') || (stack.includes('pre') && !(name === 'code' && parent === 'pre'))) problems.push(`<${name}> inside code`);
        if (name === 'a' && stack.includes('a')) problems.push('link inside link');
        if (name === 'blockquote' && stack.includes('blockquote')) problems.push('nested blockquote');
        if (name === 'pre' && stack.some((t) => t !== 'blockquote')) problems.push('<pre> inside inline formatting');
        if (name === 'code' && stack.includes('a')) problems.push('code inside a link');
        if (name === 'a') {
          const href = /^ href="([^"]*)"$/.exec(attrs);
          if (!href) problems.push(`bad <a${attrs}>`);
          else {
            if (/[<>]|&(?!amp;|lt;|gt;|quot;)/.test(href[1]!)) problems.push(`unescaped href ${href[1]}`);
            if (!/^(https?|tg|mailto|ftp):/i.test(href[1]!)) problems.push(`unsafe href ${href[1]}`);
          }
        } else if (name === 'code' && attrs) {
          if (parent !== 'pre' || !/^ class="language-[A-Za-z0-9_+#.-]+"$/.test(attrs)) problems.push(`bad <code${attrs}>`);
        } else if (attrs) problems.push(`attributes on <${name}>`);
        stack.push(name);
      }
      i = end + 1;
    } else if (c === '&') {
      const m = ENTITY.exec(html.slice(i, i + 12));
      if (!m) problems.push(`bare & at ${i}`);
      i += m ? m[0].length : 1;
    } else {
      if (c === '>') problems.push(`bare > at ${i}`);
      i++;
    }
  }
  if (stack.length) problems.push(`unclosed ${stack.join(',')}`);
  return problems;
}

const decode = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
const stripTelegram = (html: string) => decode(html.replace(/<[^>]*>/g, ''));
/**
 * Slack mrkdwn → comparable text: link targets, marks and quote prefixes become zero-width spaces (so
 * that removing a mark does not glue a combining mark to the character before it), ignored later.
 */
const stripSlack = (s: string) => decode(s.replace(/<[^|<>]*\|/g, '\u200b').replace(/[<>*_~`]/g, '\u200b'));
/** Plain text → comparable text: the " (url)" after link texts (the tests' links go to e.com/example.com) and "> " go. */
const stripPlain = (s: string) => s.replace(/ ?\(https:\/\/(e|example)\.com\/[^\s)]*\)/g, '\u200b').replace(/>/g, '\u200b');
const visible = (s: string, markup: Markup) => (markup === 'telegram-html' ? stripTelegram(s) : markup === 'slack-mrkdwn' ? stripSlack(s) : stripPlain(s));
const noSpace = (s: string) => s.replace(/[\s\u200b]+/g, '');

/** Checks every message: within the limit, well-formed, not blank. */
function checkMessages(msgs: readonly string[], markup: Markup, limit: number, unit: TextUnit, what: string, literalFences = false): void {
  for (const [n, m] of msgs.entries()) {
    const where = `${what}: message ${n + 1}/${msgs.length}`;
    assert.ok(measure(m, unit) <= limit, `${where} is ${measure(m, unit)} ${unit} > ${limit}`);
    assert.ok(m.isWellFormed(), `${where} has a lone surrogate`);
    assert.equal(m, m.trimEnd(), `${where} ends with whitespace`);
    const shown = markup === 'telegram-html' ? stripTelegram(m)
      : markup === 'slack-mrkdwn' ? m.replace(/\u200b/g, '').replace(/^> /gm, '').replace(/^```\n([\s\S]*)\n```$/, '$1')
      : m.replace(/^> /gm, '');
    assert.ok(noSpace(shown).length > 0, `${where} is blank: ${JSON.stringify(m)}`);
    if (markup === 'telegram-html') assert.deepEqual(telegramProblems(m), [], `${where}: ${m}`);
    if (markup === 'slack-mrkdwn') {
      assert.doesNotMatch(m, /&(?!amp;|lt;|gt;)/, `${where}: bare &`);
      // (Slack has no escaping: a literal ``` line in the source text cannot be told from a fence)
      if (!literalFences) assert.equal((m.match(/^(> )?```$/gm) ?? []).length % 2, 0, `${where}: unbalanced code fence`);
      assert.match(m.replace(/<[^<>\n]*>/g, '').replace(/^(\s|•|\d+\.)*> /gm, ''), /^[^<>]*$/, `${where}: unbalanced < >`);
    }
  }
}

/** The split loses nothing: per-message grapheme sequences (blanks aside) add up to the unsplit text's. */
function checkNothingLost(md: string, msgs: readonly string[], markup: Markup, what: string, wholeClusters = true): void {
  const whole = renderMessages(md, { markup, limit: Infinity, unit: 'utf16' });
  const clusters = (s: string) => graphemes(s).map(noSpace).filter((g) => g !== '');
  const want = clusters(visible(whole.join(''), markup));
  const got = msgs.flatMap((m) => clusters(visible(m, markup)));
  assert.equal(got.join(''), want.join(''), `${what}: visible text differs`);
  if (wholeClusters) {
    assert.deepEqual(got, want, `${what}: a grapheme cluster was cut`);
    // a bullet stands alone only if its item is empty (or the limit cannot hold it and one character)
    const lone = msgs.filter((m) => noSpace(visible(m, markup)) === '•').length;
    assert.ok(lone <= (visible(whole.join(''), markup).match(/^[\s>\u200b]*•[ \t\u200b]*$/gm) ?? []).length, `${what}: a bullet without its text`);
  }
}

function split(md: string, markup: Markup, limit: number, unit: TextUnit): string[] {
  const msgs = renderMessages(md, { markup, limit, unit });
  checkMessages(msgs, markup, limit, unit, `${markup}/${limit} ${unit}`);
  checkNothingLost(md, msgs, markup, `${markup}/${limit} ${unit}`);
  return msgs;
}

// ---- tests ---------------------------------------------------------------------------------------

describe('format: measure', () => {
  it('counts each unit', () => {
    const cases: [string, number, number, number][] = [
      ['a', 1, 1, 1],
      ['é', 1, 1, 2],
      ['e\u0301', 2, 2, 3],
      ['中文', 2, 2, 6],
      ['𝒜', 2, 1, 4],
      ['🇨🇳', 4, 2, 8],
      ['👍🏽', 4, 2, 8],
      ['👨‍👩‍👧‍👦', 11, 7, 25],
      ['&amp;', 5, 5, 5],
    ];
    for (const [s, u16, chars, bytes] of cases) {
      assert.deepEqual([measure(s, 'utf16'), measure(s, 'chars'), measure(s, 'bytes')], [u16, chars, bytes], s);
      assert.equal(measure(s, 'bytes'), Buffer.byteLength(s));
    }
  });
});

describe('format: splitting Unicode', () => {
  const clusters: [string, string][] = [
    ['family (ZWJ sequence)', '👨‍👩‍👧‍👦'],
    ['flags', '🇨🇳🇺🇸🇯🇵'],
    ['skin tones', '👍🏽👋🏿'],
    ['combining marks', 'e\u0301a\u0308\u0323'],
    ['surrogate pairs', '𝒜𝒷'],
  ];
  for (const [name, unitText] of clusters) {
    it(`never cuts ${name}, in any unit`, () => {
      const word = unitText.repeat(300);
      const want = graphemes(unitText);
      for (const unit of ['utf16', 'chars', 'bytes'] as const) {
        for (const markup of ['telegram-html', 'slack-mrkdwn', 'plain'] as const) {
          const msgs = split(`**${word}** and ${word}`, markup, 97, unit);
          assert.ok(msgs.length > 3);
          for (const m of msgs) {
            for (const g of graphemes(noSpace(visible(m, markup)).replace(/and/g, ''))) assert.ok(want.includes(g), `${name}: stray piece ${JSON.stringify(g)}`);
          }
        }
      }
    });
  }

  it('a space that carries a combining mark stays with it', () => {
    const md = 'ab \u0301cd '.repeat(200);
    for (const unit of ['utf16', 'chars', 'bytes'] as const) {
      const msgs = split(md, 'plain', 50, unit);
      assert.ok(msgs.length > 10);
      for (const m of msgs) assert.doesNotMatch(m, /^\p{M}/u);
    }
  });

  it('Chinese text with punctuation is cut after punctuation', () => {
    const sentences = ['今天天气很好，我们去公园散步。', '你喜欢吃什么水果？', '这是一个测试句子、用于检查分割！', '中文没有空格；所以需要特别处理：'];
    let text = '';
    for (let i = 0; text.length < 3000; i++) text += sentences[i % sentences.length]!;
    assert.equal(split(text, 'telegram-html', 4096, 'utf16').length, 1);
    const msgs = split(text, 'plain', 1000, 'bytes');
    assert.ok(msgs.length >= Math.ceil(measure(text, 'bytes') / 1000) && msgs.length <= Math.ceil(measure(text, 'bytes') / 1000) + 2, `${msgs.length} messages`);
    for (const m of msgs.slice(0, -1)) assert.match(m, /[。，？、！；：]$/, `cut after punctuation: …${m.slice(-5)}`);
    assert.equal(msgs.join(''), text);
  });

  it('Chinese text without punctuation is cut at word boundaries', () => {
    const text = '我们正在开发一个自托管的人工智能助手它可以连接各种聊天平台并使用本地模型回答问题'.repeat(40);
    const words = new Set(Array.from(new Intl.Segmenter('zh', { granularity: 'word' }).segment(text), (s) => s.index));
    for (const [markup, limit, unit] of [['plain', 1000, 'bytes'], ['telegram-html', 500, 'utf16'], ['slack-mrkdwn', 300, 'chars']] as const) {
      const msgs = split(text, markup, limit, unit);
      assert.ok(msgs.length > 1);
      assert.equal(msgs.map((m) => visible(m, markup)).join(''), text);
      let at = 0;
      for (const m of msgs.slice(0, -1)) {
        at += visible(m, markup).length;
        assert.ok(words.has(at), `cut at ${at} is not a word boundary`);
      }
    }
  });

  it('a single word longer than the limit is cut at graphemes', () => {
    const word = 'Supercalifragilistic'.repeat(300);
    const msgs = split(word, 'telegram-html', 4096, 'utf16');
    assert.deepEqual(msgs.map((m) => m.length), [4096, 1904]);
    assert.equal(msgs.join(''), word);
    const thumbs = '👍🏽'.repeat(300);
    const t = split(thumbs, 'slack-mrkdwn', 101, 'utf16');
    assert.ok(t.every((m) => m === '👍🏽'.repeat(m.length / 4)) && t[0]!.length === 100);
  });

  it('a cluster wider than a whole message (stacked combining marks) is cut between code points', () => {
    const zalgo = `a${'\u0301'.repeat(500)} ok`;
    const msgs = renderMessages(zalgo, { markup: 'telegram-html', limit: 100, unit: 'utf16' });
    checkMessages(msgs, 'telegram-html', 100, 'utf16', 'zalgo');
    assert.deepEqual(msgs.map((m) => m.length), [100, 100, 100, 100, 100, 4]);
    assert.equal(msgs.join(''), zalgo);
  });

  it('never cuts an entity', () => {
    const msgs = split('&'.repeat(1000), 'telegram-html', 102, 'utf16');
    assert.ok(msgs.every((m) => /^(&amp;)+$/.test(m) && m.length <= 100));
    const lt = split('<'.repeat(1000), 'slack-mrkdwn', 99, 'bytes');
    assert.ok(lt.every((m) => /^(&lt;)+$/.test(m)));
  });
});

describe('format: splitting long replies', () => {
  const lorem = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua'.split(' ');
  const paragraph = (seed: number, words: number) =>
    Array.from({ length: words }, (_, i) => {
      const w = lorem[(seed * 7 + i * 13) % lorem.length]!;
      return i % 17 === 5 ? `**${w}**` : i % 23 === 9 ? `_${w}_` : i % 29 === 3 ? `${w} & <${w}>` : w;
    }).join(' ');

  it('a 20,000-character reply splits at paragraph boundaries', () => {
    const paras = Array.from({ length: 60 }, (_, i) => paragraph(i, 30 + ((i * 37) % 90)));
    const md = paras.join('\n\n');
    assert.ok(md.length > 20_000, `${md.length}`);
    const plainParas = paras.map((p) => renderMessages(p, { markup: 'plain', limit: Infinity, unit: 'utf16' })[0]!);
    for (const [markup, limit, unit] of [['telegram-html', 4096, 'utf16'], ['slack-mrkdwn', 3000, 'chars'], ['plain', 2000, 'bytes']] as const) {
      const msgs = split(md, markup, limit, unit);
      assert.ok(msgs.length <= Math.ceil(md.length / limit) + 3, `${markup}: ${msgs.length} messages`);
      let next = 0;
      for (const m of msgs) {
        const parts = (markup === 'plain' ? m : visible(m, markup).replace(/\u200b/g, '')).split('\n\n');
        assert.deepEqual(parts, plainParas.slice(next, next + parts.length), `${markup}: whole paragraphs`);
        next += parts.length;
      }
      assert.equal(next, paras.length);
    }
    assert.equal(split(md, 'slack-mrkdwn', 40_000, 'chars').length, 1);
  });

  it('a long code block becomes several valid code blocks, cut at line ends', () => {
    const lines = Array.from({ length: 400 }, (_, i) => `${' '.repeat(i % 8)}if (a${i} < b && c > d) { call("${i}"); }`);
    const code = lines.join('\n');
    const md = `Here:\n\n\`\`\`ts\n${code}\n\`\`\`\n\nDone.`;
    const tg = split(md, 'telegram-html', 4096, 'utf16');
    assert.ok(tg.length >= 4);
    const blocks = tg.filter((m) => m !== 'Here:').map((m) => /^(?:Here:\n\n)?<pre><code class="language-ts">([^<]*)<\/code><\/pre>(?:\n\nDone\.)?$/.exec(m)?.[1]);
    assert.ok(blocks.every((b) => b !== undefined), 'each message is one valid code block');
    assert.equal(blocks.map((b) => decode(b!)).join('\n'), code, 'cut at line ends, indentation kept');
    const sl = split(md, 'slack-mrkdwn', 3000, 'chars');
    const slBlocks = sl.filter((m) => m !== 'Here:').map((m) => /^(?:Here:\n\n)?```\n([^`]*)\n```(?:\n\nDone\.)?$/.exec(m)?.[1]);
    assert.ok(slBlocks.every((b) => b !== undefined));
    assert.equal(slBlocks.map((b) => decode(b!)).join('\n'), code);
  });

  it('formatting across a cut is closed and reopened', () => {
    const md = `**${paragraph(1, 400)}**`.replace(/\*\*(\w+)\*\*/g, '$1');
    const tg = split(md, 'telegram-html', 500, 'utf16');
    assert.ok(tg.length > 3);
    for (const m of tg) assert.match(m, /^<b>[^<>]*(<i>[^<>]*<\/i>[^<>]*)*<\/b>$/);
    const sl = split(md, 'slack-mrkdwn', 500, 'chars');
    for (const m of sl) assert.match(m, /^\*[^*]*\*$/);
    const link = split(`[${paragraph(2, 200)}](https://example.com/x)`, 'telegram-html', 300, 'utf16');
    for (const m of link) assert.match(m, /^<a href="https:\/\/example\.com\/x">.*<\/a>$/);
    const quote = split(`> ${paragraph(3, 300)}`, 'slack-mrkdwn', 400, 'chars');
    for (const m of quote) assert.match(m, /^> /);
  });

  it('a format whose markup alone exceeds the limit degrades to text', () => {
    const md = `[x](https://example.com/${'a'.repeat(200)})`;
    assert.deepEqual(split(md, 'telegram-html', 50, 'utf16'), ['x']);
  });
});

// ---- properties on generated inputs --------------------------------------------------------------

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ['alpha', 'beta', 'gamma', 'snake_case_word', '2*3*4', 'a<b', 'x&y', 'R&D', '"quoted"', '中文', '汉字测试', '句子。然后', '👨‍👩‍👧‍👦', '🇨🇳🇺🇸', '👍🏽', 'e\u0301te', '𝒜𝒷𝒸', 'naïve', 'https://example.com/p?a=1&b=2'];

function generate(r: () => number): { md: string; words: string[] } {
  const pick = <T,>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const words: string[] = [];
  const word = () => {
    const w = r() < 0.05 ? 'long'.repeat(1 + Math.floor(r() * 80)) : r() < 0.05 ? '中文测试'.repeat(1 + Math.floor(r() * 60)) : pick(WORDS);
    words.push(w);
    return w;
  };
  const run = (n: number) => Array.from({ length: n }, word).join(' ');
  const span = () => {
    const n = 1 + Math.floor(r() * 5);
    switch (Math.floor(r() * 7)) {
      case 0: return `**${run(n)}**`;
      case 1: return `_${run(n)}_`;
      case 2: return `~~${run(n)}~~`;
      case 3: return `\`${run(n)}\``;
      case 4: return `[${run(n)}](https://example.com/${Math.floor(r() * 100)})`;
      default: return run(n);
    }
  };
  const inline = () => Array.from({ length: 1 + Math.floor(r() * 8) }, () => (r() < 0.1 ? `${span()}\n` : span())).join(' ');
  const blocks: string[] = [];
  for (let b = 0, n = 1 + Math.floor(r() * 12); b < n; b++) {
    switch (Math.floor(r() * 8)) {
      case 0: blocks.push(`## ${inline()}`); break;
      case 1: blocks.push(Array.from({ length: 1 + Math.floor(r() * 6) }, (_, i) => `${'  '.repeat(i % 3 === 2 ? 1 : 0)}- ${inline()}`).join('\n')); break;
      case 2: blocks.push(Array.from({ length: 1 + Math.floor(r() * 6) }, (_, i) => `${i + 1}. ${inline()}`).join('\n')); break;
      case 3: blocks.push(`> ${inline()}\n> ${inline()}`); break;
      case 4: blocks.push(`\`\`\`${pick(['', 'ts', 'python'])}\n${Array.from({ length: 1 + Math.floor(r() * 10) }, () => `${' '.repeat(Math.floor(r() * 6))}${run(1 + Math.floor(r() * 6))}`).join('\n')}\n\`\`\``); break;
      default: blocks.push(inline());
    }
  }
  return { md: blocks.join(pick(['\n\n', '\n\n', '\n'])), words };
}

describe('format: properties on generated replies', () => {
  it('fit, well-formed, nothing lost, words in order (300 inputs × 3 markups)', () => {
    const r = rng(Number(process.env.FORMAT_GEN_SEED ?? 20261125));
    const markups = ['telegram-html', 'slack-mrkdwn', 'plain'] as const;
    const units = ['utf16', 'chars', 'bytes'] as const;
    for (let n = 0; n < 300; n++) {
      const { md, words } = generate(r);
      for (const markup of markups) {
        const unit = units[(n + markups.indexOf(markup)) % 3]!;
        const limit = [40, 64, 120, 300, 1000, 4096][Math.floor(r() * 6)]!;
        const what = `case ${n} ${markup}/${limit} ${unit}: ${JSON.stringify(md).slice(0, 300)}`;
        const msgs = renderMessages(md, { markup, limit, unit });
        checkMessages(msgs, markup, limit, unit, what);
        checkNothingLost(md, msgs, markup, what);
        // every word of the source shows, in order
        const text = noSpace(msgs.map((m) => visible(m, markup)).join(''));
        let at = 0;
        for (const w of words) {
          const escaped = markup === 'plain' ? w : w.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
          const want = noSpace(visible(escaped, markup));
          const found = text.indexOf(want, at);
          assert.ok(found >= 0, `${what}: word ${JSON.stringify(w)} missing after ${at}`);
          at = found + want.length;
        }
      }
    }
  });
});

describe('format: properties on character soup', () => {
  it('random Markdown-ish noise never breaks an invariant (400 inputs)', () => {
    const r = rng(Number(process.env.FORMAT_SOUP_SEED ?? 7));
    const atoms = ['*', '**', '_', '__', '~~', '`', '```', '[', ']', '(', ')', '](https://e.com/x)', '<', '>', '&', '"', '\\', '#', '# ', '- ', '1. ', '> ', '|', '---',
      '\n', '\n\n', '\n  ', ' ', ' ', 'word', 'snake_case', '2*3', '中文', '。', '，', '👨‍👩‍👧‍👦', '🇨🇳', '👍🏽', 'e\u0301', '\u0301', '𝒜', 'https://x.y/z_(a)', 'www.a.b', '<https://q.r>', '\t'];
    const runs = Number(process.env.FORMAT_SOUP_RUNS ?? 400);
    for (let n = 0; n < runs; n++) {
      const len = 1 + Math.floor(r() * 120);
      let md = '';
      for (let k = 0; k < len; k++) md += atoms[Math.floor(r() * atoms.length)]!;
      for (const markup of ['telegram-html', 'slack-mrkdwn', 'plain'] as const) {
        // (plain text shows a link as "text (url)", which literal "(url)" text in the soup would mimic)
        if (markup === 'plain') md = md.replaceAll('](https://e.com/x)', '](/x)');
        const unit = (['utf16', 'chars', 'bytes'] as const)[Math.floor(r() * 3)]!;
        const limit = [8, 12, 20, 33, 60, 150, 4096][Math.floor(r() * 7)]!;
        const what = `soup ${n} ${markup}/${limit} ${unit}: ${JSON.stringify(md)}`;
        const msgs = renderMessages(md, { markup, limit, unit });
        checkMessages(msgs, markup, limit, unit, what, true);
        // Clusters are compared only where a cluster and its markup always fit: below that a lone emoji
        // sequence (👨‍👩‍👧‍👦 is 25 bytes) may be cut between code points, or a piece may lose its
        // markup, which changes how the test's stripped text groups into clusters.
        checkNothingLost(md, msgs, markup, what, limit >= 150);
      }
    }
  });
});

