// Adapters keyed by platform id. Core code looks adapters up here and never names a platform.
import type { Adapter } from './contract.ts';

export class AdapterRegistry {
  readonly #byPlatform = new Map<string, Adapter>();

  add(adapter: Adapter): void {
    if (this.#byPlatform.has(adapter.platform)) throw new Error(`adapter for platform "${adapter.platform}" registered twice`);
    this.#byPlatform.set(adapter.platform, adapter);
  }

  get(platform: string): Adapter | undefined {
    return this.#byPlatform.get(platform);
  }

  has(platform: string): boolean {
    return this.#byPlatform.has(platform);
  }

  all(): Adapter[] {
    return [...this.#byPlatform.values()];
  }
}
