// A small WebSocket test client that collects frames and waits for the ones a test expects.
import WebSocket from 'ws';

export interface Frame { type: string; id?: string; text?: string; error?: string; chat?: string }

export class TestClient {
  readonly frames: Frame[] = [];
  readonly ws: WebSocket;
  #waiters: (() => void)[] = [];

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (d) => {
      this.frames.push(JSON.parse(d.toString()) as Frame);
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  static connect(url: string, headers: Record<string, string> = {}): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      ws.once('open', () => resolve(new TestClient(ws)));
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
      ws.once('error', reject);
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Resolves with the first frame (from the start) that satisfies `pred`. */
  async waitFor(pred: (f: Frame) => boolean, timeoutMs = 5000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames.find(pred);
      if (f) return f;
      if (Date.now() > deadline) throw new Error(`frame not received; got ${JSON.stringify(this.frames)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, deadline - Date.now());
        this.#waiters.push(() => { clearTimeout(t); r(); });
      });
    }
  }

  close(): void {
    this.ws.close();
  }
}
