import { layerLabel, type SbomInput } from '../sbom/model.js';

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** A plain text table of the inventory, one package per line, for people at a terminal. */
export function inventoryTable(input: SbomInput, width = process.stdout.columns || 160): string {
  const { image, inventory } = input;
  const rows = inventory.packages.map((p) => [p.name, p.version, p.type, layerLabel(p.layer)]);
  const head = ['PACKAGE', 'VERSION', 'TYPE', 'LAYER'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (i < 3 ? r[i].length : 0))));
  const fixed = widths[0] + widths[1] + widths[2] + 6;
  const layerWidth = Math.max(20, width - fixed);
  const line = (r: string[]) =>
    [
      pad(r[0], widths[0]),
      pad(r[1], widths[1]),
      pad(r[2], widths[2]),
      r[3].length > layerWidth ? r[3].slice(0, layerWidth - 1) + '…' : r[3],
    ]
      .join('  ')
      .trimEnd();
  const os = inventory.os
    ? `${inventory.os.prettyName ?? `${inventory.os.id} ${inventory.os.version}`} (${inventory.os.id} ${inventory.os.version})${
        inventory.os.eol?.endOfLife ? ` — END OF LIFE since ${inventory.os.eol.date}` : ''
      }`
    : 'unknown OS';
  const title = `${image.name}${image.manifestDigest ? ` @ ${image.manifestDigest}` : ''} · ${os} · ${inventory.packages.length} packages · ${image.layers.length} layer${image.layers.length === 1 ? '' : 's'}`;
  return [title, '', line(head), ...rows.map(line), ''].join('\n');
}
