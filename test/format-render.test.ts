// Markdown → Telegram HTML / Slack mrkdwn / plain text: each construct, escaping, and what must stay text.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderMessages, renderMessagesWithPlain, toPlainText, type Markup } from '../src/adapters/format/index.ts';

const ZW = '\u200b';
const one = (md: string, markup: Markup): string => {
  const out = renderMessages(md, { markup, limit: 100_000, unit: 'utf16' });
  assert.equal(out.length, 1, `one message expected for ${JSON.stringify(md)}: ${JSON.stringify(out)}`);
  return out[0]!;
};
const tg = (md: string) => one(md, 'telegram-html');
const sl = (md: string) => one(md, 'slack-mrkdwn');
const pl = (md: string) => one(md, 'plain');

describe('format: inline constructs', () => {
  const cases: [string, string, string, string][] = [
    // markdown, telegram, slack, plain
    ['**bold**', '<b>bold</b>', '*bold*', 'bold'],
    ['__bold__', '<b>bold</b>', '*bold*', 'bold'],
    ['*italic*', '<i>italic</i>', '_italic_', 'italic'],
    ['_italic_', '<i>italic</i>', '_italic_', 'italic'],
    ['~~strike~~', '<s>strike</s>', '~strike~', 'strike'],
    ['`code`', '<code>code</code>', '`code`', 'code'],
    ['***both***', '<i><b>both</b></i>', '_*both*_', 'both'],
    ['**bold _and italic_**', '<b>bold <i>and italic</i></b>', '*bold _and italic_*', 'bold and italic'],
    ['[text](https://example.com/a)', '<a href="https://example.com/a">text</a>', '<https://example.com/a|text>', 'text (https://example.com/a)'],
    ['see https://example.com/x.', 'see <a href="https://example.com/x">https://example.com/x</a>.', 'see <https://example.com/x>.', 'see https://example.com/x.'],
    ['<https://example.com>', '<a href="https://example.com">https://example.com</a>', '<https://example.com>', 'https://example.com'],
    ['[**bold** link](https://e.com)', '<a href="https://e.com"><b>bold</b> link</a>', '<https://e.com|*bold* link>', 'bold link (https://e.com)'],
    ['line one\nline two', 'line one\nline two', 'line one\nline two', 'line one\nline two'],
  ];
  for (const [md, t, s, p] of cases) {
    it(`renders ${JSON.stringify(md)}`, () => {
      assert.equal(tg(md), t);
      assert.equal(sl(md), s);
      assert.equal(pl(md), p);
    });
  }

  it('does not italicise snake_case words or arithmetic', () => {
    for (const md of ['use snake_case_words here', 'compute 2*3*4 now', 'a*b*c and x*y', '5 * 3 * 2', 'my_var_name and __init__.py', 'file_name_v2_final.txt']) {
      assert.equal(pl(md), md.replace('__init__', 'init'), md);
      assert.doesNotMatch(tg(md), /<i>/, md);
    }
    assert.equal(tg('__init__ and snake_case'), '<b>init</b> and snake_case');
    assert.equal(pl('x**2 + y**2 = z**2 and 2**10'), 'x**2 + y**2 = z**2 and 2**10');
    assert.equal(tg('**bold**text'), '<b>bold</b>text', 'a double star between letters still bolds');
    assert.equal(sl('**bold**text'), `*bold*${ZW}text`);
    assert.equal(tg('2*3*4 is *24*'), '2*3*4 is <i>24</i>');
  });

  it('formats inside CJK text without spaces; Slack gets zero-width spaces at the marks', () => {
    assert.equal(tg('这是**重点**内容'), '这是<b>重点</b>内容');
    assert.equal(sl('这是**重点**内容'), `这是${ZW}*重点*${ZW}内容`);
    assert.equal(sl('**重点**，内容'), '*重点*，内容');
  });

  it('keeps unparseable markup as text', () => {
    const cases: [string, string][] = [
      ['**unclosed bold', '**unclosed bold'],
      ['`unclosed code', '`unclosed code'],
      ['[text](', '[text]('],
      ['[ref][1] and [x]', '[ref][1] and [x]'],
      ['~single tilde~ ~5 min', '~single tilde~ ~5 min'],
      ['\\*not italic\\*', '*not italic*'],
      ['*not italic', '*not italic'],
      ['-not a list', '-not a list'],
      ['2024. was a year', '2024. was a year'],
    ];
    for (const [md, plain] of cases) assert.equal(pl(md), plain, md);
    assert.equal(tg('<div class="x">hi</div>'), '&lt;div class="x"&gt;hi&lt;/div&gt;');
    assert.equal(sl('<div class="x">hi</div>'), '&lt;div class="x"&gt;hi&lt;/div&gt;');
  });
});

describe('format: escaping', () => {
  it('escapes text', () => {
    const md = 'a <script>alert("x")</script> & b';
    assert.equal(tg(md), 'a &lt;script&gt;alert("x")&lt;/script&gt; &amp; b');
    assert.equal(sl(md), 'a &lt;script&gt;alert("x")&lt;/script&gt; &amp; b');
    assert.equal(pl(md), md);
  });
  it('escapes code spans and code blocks', () => {
    assert.equal(tg('`<b>&amp;</b>`'), '<code>&lt;b&gt;&amp;amp;&lt;/b&gt;</code>');
    assert.equal(sl('`<b>&</b>`'), '`&lt;b&gt;&amp;&lt;/b&gt;`');
    assert.equal(tg('```html\n<p>&</p>\n```'), '<pre><code class="language-html">&lt;p&gt;&amp;&lt;/p&gt;</code></pre>');
    assert.equal(sl('```html\n<p>&</p>\n```'), '```\n&lt;p&gt;&amp;&lt;/p&gt;\n```');
  });
  it('escapes link text and URLs', () => {
    assert.equal(tg('[<i>&</i>](https://e.com/?a=1&b=2)'), '<a href="https://e.com/?a=1&amp;b=2">&lt;i&gt;&amp;&lt;/i&gt;</a>');
    assert.equal(tg('[x](<https://e.com/?q="<&>)'), '[x](&lt;<a href="https://e.com/?q=">https://e.com/?q=</a>"&lt;&amp;&gt;)');
    assert.equal(tg('[x](https://e.com/?q="<&)'), '<a href="https://e.com/?q=&quot;&lt;&amp;">x</a>');
    assert.equal(sl('[a|b](https://e.com/?q=1&r=|)'), '<https://e.com/?q=1&amp;r=%7C|a|b>');
    assert.equal(sl('https://e.com/?a=1&b=2'), '<https://e.com/?a=1&amp;b=2>');
  });
  it('drops links with dangerous or relative targets, keeping their text', () => {
    for (const href of ['javascript:alert(1)', 'JavaScript:alert(1)', ' javascript:x', 'data:text/html,<b>', 'vbscript:x', 'file:///etc/passwd', '/relative', '#anchor']) {
      const md = `[click](${href})`;
      assert.equal(tg(md), 'click', md);
      assert.equal(sl(md), 'click', md);
      assert.equal(pl(md), 'click', md);
    }
    assert.equal(tg('[site](www.example.com)'), '<a href="http://www.example.com">site</a>');
    assert.equal(tg('[me](mailto:a@b.c) <a@b.c>'), '<a href="mailto:a@b.c">me</a> <a href="mailto:a@b.c">a@b.c</a>');
  });
  it('does not put code inside a Telegram link', () => {
    assert.equal(tg('[`npm i`](https://npmjs.com)'), '<a href="https://npmjs.com">npm i</a>');
  });
});

describe('format: blocks', () => {
  it('headings become a bold line', () => {
    assert.equal(tg('# Title\nText'), '<b>Title</b>\nText');
    assert.equal(tg('## Sub **x** ##\n\nText'), '<b>Sub x</b>\n\nText');
    assert.equal(sl('### Title'), '*Title*');
    assert.equal(pl('# Title'), 'Title');
    assert.equal(pl('#hashtag'), '#hashtag');
  });

  it('fenced code blocks, with and without a language; unclosed fences run to the end', () => {
    const md = 'Run:\n\n```python\ndef f(x):\n    return x < 1\n```\n\nDone';
    assert.equal(tg(md), 'Run:\n\n<pre><code class="language-python">def f(x):\n    return x &lt; 1</code></pre>\n\nDone');
    assert.equal(sl(md), 'Run:\n\n```\ndef f(x):\n    return x &lt; 1\n```\n\nDone');
    assert.equal(pl(md), 'Run:\n\ndef f(x):\n    return x < 1\n\nDone');
    assert.equal(tg('```\nplain **not bold**\n```'), '<pre>plain **not bold**</pre>');
    assert.equal(tg('```js\nopen'), '<pre><code class="language-js">open</code></pre>');
    assert.equal(tg('```"><script>\nx\n```'), '<pre>x</pre>', 'a hostile language name is dropped');
  });

  it('lists keep bullets and numbers, nested by indentation', () => {
    const md = '- one\n- two **b**\n  - nested\n    - deeper\n- three\n\n1. first\n2. second\n   - sub\n3. third';
    const want = '• one\n• two <b>b</b>\n  • nested\n    • deeper\n• three\n\n1. first\n2. second\n   • sub\n3. third';
    assert.equal(tg(md), want);
    assert.equal(pl('* a\n+ b\n\n5. five\n6. six'), '• a\n• b\n\n5. five\n6. six');
    assert.equal(pl('Steps:\n1. a\n2. b'), 'Steps:\n1. a\n2. b');
    assert.equal(tg('- [ ] todo\n- [x] done **b**\n- plain'), '☐ todo\n☑ done <b>b</b>\n• plain');
    assert.equal(pl('1. Run:\n```sh\nnpm i\n```\n2. Go'), '1. Run:\nnpm i\n2. Go');
    assert.equal(tg('1. Run:\n   ```sh\n   npm i\n   ```\n2. Go'), '1. Run:\n   <pre><code class="language-sh">npm i</code></pre>\n2. Go');
  });

  it('quotes', () => {
    const md = '> quoted **b**\n> more\n\nafter';
    assert.equal(tg(md), '<blockquote>quoted <b>b</b>\nmore</blockquote>\n\nafter');
    assert.equal(sl(md), '> quoted *b*\n> more\n\nafter');
    assert.equal(pl(md), '> quoted b\n> more\n\nafter');
    assert.equal(tg('> > nested'), '<blockquote>nested</blockquote>', 'Telegram blockquotes cannot nest');
    assert.equal(sl('> code:\n> ```\n> x\n> y\n> ```'), '> code:\n> ```\n> x\n> y\n> ```');
  });

  it('horizontal rules and tables', () => {
    assert.equal(pl('a\n\n---\n\nb'), 'a\n\n──────────\n\nb');
    const md = '| Name | 数量 |\n|:-----|----:|\n| **apple** | 3 |\n| 香蕉 | 12 |';
    const table = 'Name  | 数量\n------+-----\napple | 3\n香蕉  | 12';
    assert.equal(pl(md), table);
    assert.equal(tg(md), `<pre>${table}</pre>`);
    assert.equal(sl(md), `\`\`\`\n${table}\n\`\`\``);
  });

  it('empty and whitespace-only input gives no messages', () => {
    for (const md of ['', '   ', '\n\n\n', '```\n```', '#']) assert.deepEqual(renderMessages(md, { markup: 'telegram-html', limit: 4096, unit: 'utf16' }), [], JSON.stringify(md));
  });

  it('rejects bad options', () => {
    assert.throws(() => renderMessages('x', { markup: 'html' as Markup, limit: 100, unit: 'utf16' }), TypeError);
    assert.throws(() => renderMessages('x', { markup: 'plain', limit: 3, unit: 'utf16' }), RangeError);
    assert.throws(() => renderMessages('x', { markup: 'plain', limit: 10.5, unit: 'utf16' }), RangeError);
    assert.throws(() => renderMessages('x', { markup: 'plain', limit: 100, unit: 'words' as 'utf16' }), TypeError);
  });

  it('renderMessagesWithPlain cuts both versions at the same places, and toPlainText gives the whole', () => {
    const md = Array.from({ length: 40 }, (_, i) => `Paragraph ${i} with **bold** and [a link](https://example.com/${i}).`).join('\n\n');
    const pairs = renderMessagesWithPlain(md, { markup: 'telegram-html', limit: 300, unit: 'utf16' });
    assert.ok(pairs.length > 5);
    for (const p of pairs) {
      assert.ok(p.text.length <= 300 && p.plain.length <= 300);
      assert.equal(p.plain.replace(/ \(https:\/\/example\.com\/\d+\)/g, ''), p.text.replace(/<[^>]+>/g, ''));
    }
    assert.match(toPlainText(md), /^Paragraph 0 with bold and a link \(https:\/\/example\.com\/0\)\./);
  });
});
