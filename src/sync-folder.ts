// Makes a folder's entries durable (files created or renamed in it): fsync of the folder itself.
import { closeSync, fsyncSync, openSync } from 'node:fs';

export function syncFolder(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
