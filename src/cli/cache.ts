import type { Command } from 'commander';
import { AnalysisCache } from '../image/analysis-cache.js';
import { LayerCache } from '../image/layer-cache.js';

const mib = (n: number) => `${(n / 1024 ** 2).toFixed(1)} MiB`;
const layers = (n: number) => `${n} layer${n === 1 ? '' : 's'}`;

/** `customs cache status|clean`: the registry layer cache ($CUSTOMS_CACHE_DIR, bounded by CUSTOMS_CACHE_MAX_SIZE). */
export function registerCache(program: Command): void {
  const cache = program
    .command('cache')
    .description('the layer cache that registry scans fill, and the per-layer analysis cache');
  cache
    .command('status')
    .description('where the cache is, how many layers it holds and its size bound')
    .action(() => {
      const s = LayerCache.default().status();
      process.stdout.write(`${s.dir}: ${layers(s.blobs)}, ${mib(s.bytes)} (bound ${mib(s.maxBytes)})\n`);
      const a = AnalysisCache.default();
      if (a) {
        const t = a.status();
        process.stdout.write(
          `${t.dir}: analysis: ${layers(t.layers)}, ${mib(t.bytes)} (bound ${mib(t.maxBytes)})\n`,
        );
      } else process.stdout.write('analysis cache: off (CUSTOMS_ANALYSIS_CACHE=off)\n');
    });
  cache
    .command('clean')
    .description('remove every cached layer')
    .action(() => {
      const c = LayerCache.default();
      const r = c.clean();
      process.stdout.write(`removed ${layers(r.blobs)} (${mib(r.bytes)}) from ${c.dir}\n`);
      const a = AnalysisCache.default();
      if (a) {
        const t = a.clean();
        process.stdout.write(`removed the analyses of ${layers(t.layers)} (${mib(t.bytes)}) from ${a.dir}\n`);
      }
    });
}
