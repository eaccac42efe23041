import type { Command } from 'commander';
import { LayerCache } from '../image/layer-cache.js';

const mib = (n: number) => `${(n / 1024 ** 2).toFixed(1)} MiB`;
const layers = (n: number) => `${n} layer${n === 1 ? '' : 's'}`;

/** `customs cache status|clean`: the registry layer cache ($CUSTOMS_CACHE_DIR, bounded by CUSTOMS_CACHE_MAX_SIZE). */
export function registerCache(program: Command): void {
  const cache = program.command('cache').description('the layer cache that registry scans fill');
  cache
    .command('status')
    .description('where the cache is, how many layers it holds and its size bound')
    .action(() => {
      const s = LayerCache.default().status();
      process.stdout.write(`${s.dir}: ${layers(s.blobs)}, ${mib(s.bytes)} (bound ${mib(s.maxBytes)})\n`);
    });
  cache
    .command('clean')
    .description('remove every cached layer')
    .action(() => {
      const c = LayerCache.default();
      const r = c.clean();
      process.stdout.write(`removed ${layers(r.blobs)} (${mib(r.bytes)}) from ${c.dir}\n`);
    });
}
