// Units written in the config, normalised: durations to ms, sizes to bytes, rates to tokens per window,
// listen addresses to host + port. Each parser returns undefined for a value it does not understand;
// the EXPECTED_* texts say what would have been understood (used in error messages).
import { isIP } from 'node:net';
import type { ListenAddress, RateLimit } from './types.ts';

export const EXPECTED_DURATION = 'a duration like 30s, 500ms, 5m, 1h, 1d (or a number of seconds)';
export const EXPECTED_SIZE = 'a size like 10MB, 512KB, 1GB (or a number of bytes)';
export const EXPECTED_RATE = 'a rate like 100/min, 5/s, 1000/hour (or "100 per minute")';
export const EXPECTED_LISTEN = 'an address like 127.0.0.1:8080, [::1]:8080, :8080 or a port number';

const DURATION_MS: Record<string, number> = {
  ms: 1, s: 1000, sec: 1000, secs: 1000, second: 1000, seconds: 1000,
  m: 60_000, min: 60_000, mins: 60_000, minute: 60_000, minutes: 60_000,
  h: 3_600_000, hr: 3_600_000, hour: 3_600_000, hours: 3_600_000,
  d: 86_400_000, day: 86_400_000, days: 86_400_000,
};

/** "500ms", "10s", "5m", "1h", "1d", "1h30m", "1.5h"; a number (or numeric string) is seconds. */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.round(v * 1000) : undefined;
  if (typeof v !== 'string') return undefined;
  const s = v.trim().toLowerCase();
  if (/^\d+(?:\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  if (!/^(?:\d+(?:\.\d+)?\s*[a-z]+\s*)+$/.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)\s*([a-z]+)/g)) {
    const unit = DURATION_MS[m[2]!];
    if (unit === undefined) return undefined;
    total += Number(m[1]) * unit;
  }
  return Math.round(total);
}

const SIZE_BYTES: Record<string, number> = {
  b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3,
};

/** "10MB", "512KB", "1.5GB" (binary: 1 KB = 1024 bytes); a number is bytes. */
export function parseSize(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(v.trim());
  if (!m) return undefined;
  const unit = SIZE_BYTES[(m[2] || 'b').toLowerCase()];
  return unit === undefined ? undefined : Math.round(Number(m[1]) * unit);
}

const RATE_WINDOW_MS: Record<string, number> = {
  s: 1000, sec: 1000, secs: 1000, second: 1000, seconds: 1000,
  m: 60_000, min: 60_000, mins: 60_000, minute: 60_000, minutes: 60_000,
  h: 3_600_000, hr: 3_600_000, hrs: 3_600_000, hour: 3_600_000, hours: 3_600_000,
  d: 86_400_000, day: 86_400_000, days: 86_400_000,
};

/** "100/min", "5/s", "1000/hour", "100 per minute": a positive whole number per unit. */
export function parseRate(v: unknown): RateLimit | undefined {
  if (typeof v !== 'string') return undefined;
  const text = v.trim();
  const m = /^(\d+)\s*(?:\/|per\s+)\s*([a-z]+)$/i.exec(text);
  if (!m) return undefined;
  const limit = Number(m[1]);
  const windowMs = RATE_WINDOW_MS[m[2]!.toLowerCase()];
  if (windowMs === undefined || !Number.isSafeInteger(limit) || limit < 1) return undefined;
  return { limit, windowMs, text };
}

/**
 * "127.0.0.1:8080", "0.0.0.0:8080", "[::1]:8080", "localhost:8080", ":8080" or a bare port. Without a
 * host the gateway binds to 127.0.0.1 (never every interface by accident): write 0.0.0.0:8080 to
 * expose it. Port 0 asks the system for a free port (tests).
 */
export function parseListen(v: unknown): ListenAddress | undefined {
  if (typeof v === 'number') return validPort(v) ? { host: '127.0.0.1', port: v } : undefined;
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(s) ?? /^()()(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (!validPort(port)) return undefined;
  if (m[1] !== undefined && m[1] !== '') return isIP(m[1]) === 6 ? { host: m[1], port } : undefined;
  const host = m[2] || '127.0.0.1';
  if (isIP(host) === 0 && (/^[\d.]+$/.test(host) || !/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*$/.test(host))) return undefined;
  return { host, port };
}

export const EXPECTED_URL = 'an http(s) URL like http://127.0.0.1:11434 or http://localhost:8000/v1';

/** An http:// or https:// URL with a host, returned as written (trimmed). */
export function parseHttpUrl(v: unknown): string | undefined {
  if (typeof v !== 'string' || !URL.canParse(v.trim())) return undefined;
  const u = new URL(v.trim());
  return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname ? v.trim() : undefined;
}

function validPort(p: number): boolean {
  return Number.isInteger(p) && p >= 0 && p <= 65535;
}
