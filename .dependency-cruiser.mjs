// The floors of src/ (docs/design.md "The floors"): a folder imports only folders on floors below
// its own. A new upward import, or a cycle between files, fails `npm run lint`.
const floors = [
  ['ecosystems', '[a-z-]+\\.ts$'], // the bottom, with the root helpers (errors.ts, version.ts…)
  ['image'],
  ['versions', 'distro'],
  ['catalog'],
  ['model'],
  ['vulndb'],
  ['match', 'secrets', 'rank'],
  ['sbom', 'lint', 'policy'],
  ['scan'],
  ['compare', 'advise', 'report'],
  ['store'],
  ['services'],
  ['gate'],
  ['jobs'],
  ['monitor'],
  ['server'],
  ['cli'],
];
const re = (names) => `^src/(${names.map((n) => (n.includes('\\') ? n : `${n}/`)).join('|')})`;
// Upward arrows the design names and justifies (docs/design.md "The floors"): none at present.
const allowed = [];
export default {
  forbidden: [
    ...floors.slice(0, -1).map((names, i) => ({
      name: `floor-${names[0]}`,
      comment: `${names.join(', ')} may not import a folder on a higher floor`,
      severity: 'error',
      from: { path: re(names), pathNot: allowed.map((a) => a.from) },
      to: { path: re(floors.slice(i + 1).flat()) },
    })),
    ...allowed.map((a, i) => ({
      name: `allowed-${i}-only`,
      comment: 'a named exception covers only the one import it names',
      severity: 'error',
      from: { path: a.from },
      to: {
        path: re(floors.slice(floors.findIndex((f) => f.some((n) => a.from.includes(n))) + 1).flat()),
        pathNot: a.to,
      },
    })),
    {
      name: 'no-cycles',
      comment: 'no file imports itself through others',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
