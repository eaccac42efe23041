/*
 * The crafted inputs of the third hostile-input round (issue 33), made by small generators so that
 * nothing large is committed: each is a map of relative path → content for a source tree or an
 * image layer. test/e2e/hostile-cost.test.ts runs the built CLI over each; the fuzz targets take the
 * small ones as seeds.
 */

export type Tree = Record<string, string | Buffer>;

const project = (body: string, head = '') =>
  `<?xml version="1.0"?>${head}<project><modelVersion>4.0.0</modelVersion>${body}</project>`;
const dep = (g: string, a: string, v?: string, scope?: string) =>
  `<dependency><groupId>${g}</groupId><artifactId>${a}</artifactId>${v === undefined ? '' : `<version>${v}</version>`}${scope ? `<scope>${scope}</scope>` : ''}</dependency>`;
const coords = (g: string, a: string, v: string) =>
  `<groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version>`;

/** A pom that also names one ordinary dependency: the rest of the tree must still be inventoried. */
export const ORDINARY = dep('org.example', 'ordinary', '1.2.3');

/** Properties fanning out 10 levels × 10: under a kilobyte, 10^10 characters expanded naively. */
export function pomFanOut(): string {
  const props = [
    '<p0>x</p0>',
    ...Array.from({ length: 9 }, (_, i) => `<p${i + 1}>${`\${p${i}}`.repeat(10)}</p${i + 1}>`),
  ];
  return project(
    `${coords('evil', 'fan', '1')}<properties>${props.join('')}</properties><dependencies>${dep('evil', 'x', '${p9}')}${ORDINARY}</dependencies>`,
  );
}

/** A property naming itself twice beside a megabyte (`<a>${a}${a}…</a>`). */
export function pomSelfDoubling(bytes = 1024 * 1024): string {
  return project(
    `${coords('evil', 'dbl', '1')}<properties><a>\${a}\${a}${'x'.repeat(bytes)}</a></properties><dependencies>${dep('evil', 'x', '${a}')}${ORDINARY}</dependencies>`,
  );
}

/** `count` dependencies whose version is one property of `bytes` characters. */
export function pomBigVersion(count = 1000, bytes = 1024 * 1024): string {
  const deps = Array.from({ length: count }, (_, i) => dep('evil', `d${i}`, '${v}')).join('');
  return project(
    `${coords('evil', 'big', '1')}<properties><v>${'9'.repeat(bytes)}</v></properties><dependencies>${deps}${ORDINARY}</dependencies>`,
  );
}

/** A version made of nested internal entities (the billion laughs, refused by the XML parser's cap or left literal). */
export function pomEntityVersion(): string {
  let ents = '<!ENTITY lol "lol">';
  for (let i = 1; i < 10; i++) ents += `<!ENTITY lol${i} "${`&lol${i > 1 ? i - 1 : ''};`.repeat(10)}">`;
  return project(
    `${coords('evil', 'ent', '1')}<dependencies>${dep('evil', 'x', '&lol9;')}${ORDINARY}</dependencies>`,
    `<!DOCTYPE project [${ents}]>`,
  );
}

/** A pom whose parent is itself (relativePath pointing at its own file). */
export function pomSelfParent(): string {
  return project(
    `<parent>${coords('evil', 'self', '1')}<relativePath>pom.xml</relativePath></parent>${coords('evil', 'self', '1')}<dependencies>${dep('evil', 'unpinned')}${ORDINARY}</dependencies>`,
  );
}

/**
 * `managed` managed dependencies in the project and `boms` BOMs of `perBom` entries each in a local
 * Maven repository inside the tree: quadratic when each managed entry re-walks every imported one.
 */
export function treeManyBoms(managed = 20_000, boms = 40, perBom = 5_000): Tree {
  const tree: Tree = {};
  const repo = '.m2/repository/evil';
  for (let b = 0; b < boms; b++) {
    const entries = Array.from({ length: perBom }, (_, i) => dep(`bom${b}`, `m${i}`, `${b}.${i}`)).join('');
    tree[`${repo}/bom${b}/1/bom${b}-1.pom`] = project(
      `${coords('evil', `bom${b}`, '1')}<dependencyManagement><dependencies>${entries}</dependencies></dependencyManagement>`,
    );
  }
  const own = Array.from({ length: managed }, (_, i) => dep('own', `m${i}`, `1.${i}`)).join('');
  const imports = Array.from({ length: boms }, (_, b) =>
    dep('evil', `bom${b}`, '1', 'import').replace('</scope>', '</scope><type>pom</type>'),
  ).join('');
  tree['app/pom.xml'] = project(
    `${coords('evil', 'app', '1')}<dependencyManagement><dependencies>${own}${imports}</dependencies></dependencyManagement><dependencies>${dep('own', 'm7')}${dep(`bom${boms - 1}`, `m${perBom - 1}`)}${ORDINARY}</dependencies>`,
  );
  return tree;
}

/** `modules` modules sharing one in-tree parent that imports one BOM of `perBom` entries. */
export function treeManyModules(modules = 10_000, perBom = 5_000): Tree {
  const entries = Array.from({ length: perBom }, (_, i) => dep('bom', `m${i}`, `2.${i}`)).join('');
  const tree: Tree = {
    '.m2/repository/evil/bom/1/bom-1.pom': project(
      `${coords('evil', 'bom', '1')}<dependencyManagement><dependencies>${entries}</dependencies></dependencyManagement>`,
    ),
    'pom.xml': project(
      `${coords('evil', 'parent', '1')}<packaging>pom</packaging><dependencyManagement><dependencies>${dep('evil', 'bom', '1', 'import')}</dependencies></dependencyManagement><dependencies>${ORDINARY}</dependencies>`,
    ),
  };
  for (let m = 0; m < modules; m++)
    tree[`m${m}/pom.xml`] = project(
      `<parent>${coords('evil', 'parent', '1')}</parent><artifactId>m${m}</artifactId><dependencies>${dep('bom', `m${m % perBom}`)}</dependencies>`,
    );
  return tree;
}

/** Entries of `make(i)` joined, up to `bytes` characters: a pom just under the per-file cap. */
function fill(bytes: number, make: (i: number) => string): string {
  const parts: string[] = [];
  for (let i = 0, n = 0; ; i++) {
    const s = make(i);
    if ((n += s.length) > bytes) return parts.join('');
    parts.push(s);
  }
}

/**
 * `boms` BOMs in the tree's Maven repository sharing one chain of `parents` parents of `bytes`
 * each, dense with managed entries, all imported by one project: each pom under the per-file cap,
 * each BOM's chain re-walked per BOM (200 × 9 × 45,000 entries at full size) unless the scan's
 * budget is checked as it is spent.
 */
export function treeBomFanOut(boms = 200, parents = 9, bytes = 4 * 1024 * 1024 - 8192): Tree {
  const tree: Tree = {};
  const repo = '.m2/repository/evil';
  for (let j = 0; j < parents; j++) {
    const parent = j < parents - 1 ? `<parent>${coords('evil', `p${j + 1}`, '1')}</parent>` : '';
    tree[`${repo}/p${j}/1/p${j}-1.pom`] = project(
      `${parent}${coords('evil', `p${j}`, '1')}<dependencyManagement><dependencies>${fill(bytes, (i) => dep(`g${j}`, `a${i}`, '1'))}</dependencies></dependencyManagement>`,
    );
  }
  for (let b = 0; b < boms; b++)
    tree[`${repo}/b${b}/1/b${b}-1.pom`] = project(
      `<parent>${coords('evil', 'p0', '1')}</parent>${coords('evil', `b${b}`, '1')}`,
    );
  const imports = Array.from({ length: boms }, (_, b) => dep('evil', `b${b}`, '1', 'import')).join('');
  tree['app/pom.xml'] = project(
    `${coords('evil', 'app', '1')}<dependencyManagement><dependencies>${imports}</dependencies></dependencyManagement><dependencies>${dep('g0', 'a1')}${ORDINARY}</dependencies>`,
  );
  return tree;
}

/**
 * One pom with `count` properties, each a 4,000-character value plus its number (distinct, each
 * under MAX_EXPANDED), and `count` dependencies naming one each: every expansion is allowed, and
 * what one module's memo holds grows with the count unless the budget is checked per expansion.
 */
export function pomManyExpansions(count = 1000): string {
  const props = Array.from({ length: count }, (_, i) => `<q${i}>\${b}${i}</q${i}>`).join('');
  const deps = Array.from({ length: count }, (_, i) => dep('evil', `d${i}`, `\${q${i}}`)).join('');
  return project(
    `${coords('evil', 'memo', '1')}<properties><b>${'x'.repeat(4000)}</b>${props}</properties><dependencies>${deps}${ORDINARY}</dependencies>`,
  );
}

/** `count` poms of `bytes` each, dense with distinct properties: the XML parser's slowest input. */
export function treeDensePoms(count = 12, bytes = 4 * 1024 * 1024 - 8192): Tree {
  const body = fill(bytes, (i) => `<q${i}>v${i}</q${i}>`);
  const tree: Tree = {};
  for (let m = 0; m < count; m++)
    tree[`dense${m}/pom.xml`] = project(
      `${coords('evil', `m${m}`, '1')}<properties>${body}</properties><dependencies>${ORDINARY}</dependencies>`,
    );
  return tree;
}

/**
 * `n` local Maven repositories (`r<i>/.m2/repository`) and `n` modules each naming a parent found
 * in none: every repository tried for every parent (quadratic) unless their poms are indexed once.
 */
export function treeManyRepositories(n = 5_000): Tree {
  const tree: Tree = {};
  for (let i = 0; i < n; i++) {
    tree[`r${i}/.m2/repository/z/z/1/z-1.pom`] = project(coords('z', 'z', '1'));
    tree[`m${i}/pom.xml`] = project(
      `<parent>${coords('evil', `p${i}`, '1')}</parent><artifactId>m${i}</artifactId><dependencies>${ORDINARY}</dependencies>`,
    );
  }
  return tree;
}

/** A varint-prefixed string, as Go's build info writes them. */
function goString(s: string): Buffer {
  const b = Buffer.from(s);
  const len: number[] = [];
  let n = b.length;
  do {
    len.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  return Buffer.concat([Buffer.from(len), b]);
}

/**
 * A Go binary whose pcln name table holds `names` functions spread over `modules` modules, with
 * build info (1.18+ inline form) naming every module: as the probes find them in an ELF file.
 */
export function goManyModules(modules = 40_000, names = 400_000, extra: string[] = []): Buffer {
  // Short paths: 40,000 modules must fit the 1 MiB the build info reader keeps.
  const mods = Array.from({ length: modules }, (_, i) => `e.co/${i.toString(36)}`);
  const list: string[] = ['go:buildid', 'main.main', 'runtime.main', 'net/http.(*Client).Do', ...extra];
  for (let i = 0; list.length < names; i++) list.push(`${mods[i % modules]}/pkg.F${i}`);
  const table = Buffer.from(`${list.join('\0')}\0`);
  const header = Buffer.alloc(72);
  header.writeUInt32LE(0xfffffff1, 0);
  header[6] = 1;
  header[7] = 8;
  const end = 72 + table.length;
  [list.length, 1, 0, 72, end, end + 8, end + 16, end + 24].forEach((v, i) =>
    header.writeBigUInt64LE(BigInt(v), 8 + i * 8),
  );
  const modinfo = [
    'path\texample.com/main',
    'mod\texample.com/main\t(devel)\t',
    ...mods.map((m) => `dep\t${m}\tv1.0.0\t`),
    '',
  ].join('\n');
  const buildinfo = Buffer.concat([
    Buffer.from('\xff Go buildinf:\x08\x02', 'latin1'),
    Buffer.alloc(16),
    goString('go1.22.1'),
    goString(modinfo),
  ]);
  const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.alloc(60)]);
  return Buffer.concat([elf, header, table, Buffer.alloc(64 * 1024), buildinfo]);
}

/** A Go function name of `n` unclosed type-parameter brackets (once quadratic to strip). */
export const goBracketName = (n = 4_000_000) => `e.co/0/pkg.F${'['.repeat(n)}`;

/** A node binary whose version string is hostile: 20-digit, over-long, or tens of thousands of digits. */
export const NODE_VERSIONS = [
  '99999999999999999999.0.0',
  `18.${'9'.repeat(20)}.1`,
  `${'1'.repeat(60_005)}.0.0`,
];
export function nodeBinary(version: string): Buffer {
  return Buffer.concat([
    Buffer.from([0x7f, 0x45, 0x4c, 0x46]),
    Buffer.alloc(1024),
    Buffer.from(`\0node.js/v${version}\0`),
    Buffer.alloc(1024),
  ]);
}

/** A PECL registry entry (PHP serialize) whose package name is `bytes` long. */
export function peclHugeName(bytes = 200 * 1024 * 1024): Buffer {
  const s = (v: string | Buffer) => [
    Buffer.from(`s:${Buffer.byteLength(v)}:"`),
    Buffer.from(v),
    Buffer.from('";'),
  ];
  const name = Buffer.alloc(bytes, 0x61);
  return Buffer.concat([
    Buffer.from('a:3:{'),
    ...s('name'),
    ...s(name),
    ...s('version'),
    Buffer.from('a:1:{'),
    ...s('release'),
    ...s('1.0.0'),
    Buffer.from('}'),
    ...s('channel'),
    ...s('pecl.php.net'),
    Buffer.from('}'),
  ]);
}

/** A real-looking AWS key on the first line of a file of `bytes` (over the secret scanner's size limit). */
export function bigFileWithKey(bytes = 6 * 1024 * 1024): Buffer {
  const head = Buffer.from(
    'aws_access_key_id = AKIAZ3MSJV4WWNKWW5FG\naws_secret_access_key = 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\n',
  );
  return Buffer.concat([head, Buffer.alloc(bytes - head.length, 0x2e)]);
}
