import { reportId, reportTime } from '../report-time.js';
import type { Package } from '../catalog/model.js';
import { isCompoundExpression, spdxId } from './licenses.js';
import { cleanStep, type SbomInput } from './model.js';

type Props = Array<{ name: string; value: string }>;

function licenses(pkg: Package): unknown[] | undefined {
  if (pkg.licenses.length === 0) return undefined;
  if (pkg.licenses.length === 1 && isCompoundExpression(pkg.licenses[0]))
    return [{ expression: pkg.licenses[0] }];
  return pkg.licenses.map((l) => {
    const id = spdxId(l);
    return id ? { license: { id } } : { license: { name: l } };
  });
}

function prop(props: Props, name: string, value: string | number | undefined): void {
  if (value !== undefined && value !== '') props.push({ name: `customs:${name}`, value: String(value) });
}

/**
 * The bom-ref of every package, in inventory order: its purl, numbered from the second copy on
 * (six log4j-core jars at six paths are six components). Findings find their copy through it.
 */
export function componentRefs(packages: Package[]): string[] {
  const refs = new Set<string>();
  return packages.map((pkg) => {
    let ref = pkg.purl;
    for (let i = 2; refs.has(ref); i++) ref = `${pkg.purl}#${i}`;
    refs.add(ref);
    return ref;
  });
}

/** Maven coordinates as CycloneDX and Dependency-Track expect them: group (groupId) and name (artifactId). */
function nameOf(pkg: Package): { group?: string; name: string } {
  if (pkg.type === 'maven' || pkg.purl.startsWith('pkg:maven/')) {
    const colon = pkg.name.indexOf(':');
    if (colon > 0) return { group: pkg.name.slice(0, colon), name: pkg.name.slice(colon + 1) };
  }
  return { name: pkg.name };
}

/** CycloneDX 1.6 JSON: the image as metadata.component, the OS and every package as components. */
export function toCycloneDx(input: SbomInput): object {
  const { image, inventory } = input;
  const imageRef = `image:${image.configDigest ?? image.manifestDigest ?? image.name}`;
  const imageProps: Props = [];
  prop(imageProps, 'image:target', image.target);
  prop(imageProps, 'image:kind', image.kind);
  prop(imageProps, 'image:manifestDigest', image.manifestDigest);
  prop(imageProps, 'image:configDigest', image.configDigest);
  prop(imageProps, 'image:os', image.os);
  prop(imageProps, 'image:architecture', image.architecture);
  image.repoTags.forEach((t) => prop(imageProps, 'image:repoTag', t));
  for (const l of image.layers) {
    prop(
      imageProps,
      `image:layer:${l.index}`,
      [l.digest, l.diffId, l.createdBy ? cleanStep(l.createdBy) : undefined].filter(Boolean).join(' '),
    );
  }

  const components: object[] = [];
  let osRef: string | undefined;
  if (inventory.os) {
    osRef = `os:${inventory.os.id}@${inventory.os.version}`;
    const osProps: Props = [];
    if (inventory.os.eol) {
      prop(osProps, 'os:eolDate', inventory.os.eol.date);
      prop(osProps, 'os:endOfLife', String(inventory.os.eol.endOfLife));
    }
    components.push({
      'bom-ref': osRef,
      type: 'operating-system',
      name: inventory.os.id,
      version: inventory.os.version,
      description: inventory.os.prettyName,
      ...(osProps.length ? { properties: osProps } : {}),
    });
  }
  const pkgRefs = componentRefs(inventory.packages);
  for (const [n, pkg] of inventory.packages.entries()) {
    const ref = pkgRefs[n];
    const props: Props = [];
    prop(props, 'package:type', pkg.type);
    prop(props, 'package:foundBy', pkg.foundBy);
    prop(props, 'package:arch', pkg.arch);
    prop(props, 'package:sourceName', pkg.source?.name);
    prop(props, 'package:sourceVersion', pkg.source?.version);
    for (const loc of pkg.locations) prop(props, 'location:path', loc.path);
    prop(props, 'layer:index', pkg.layer ? pkg.layer.index : undefined);
    prop(props, 'layer:digest', pkg.layer?.digest);
    prop(props, 'layer:diffId', pkg.layer?.diffId);
    prop(props, 'layer:createdBy', pkg.layer?.createdBy ? cleanStep(pkg.layer.createdBy) : undefined);
    const publisher = pkg.vendor ?? pkg.maintainer;
    components.push({
      'bom-ref': ref,
      type: 'library',
      ...(publisher ? { publisher } : {}),
      ...nameOf(pkg),
      version: pkg.version,
      ...(pkg.description ? { description: pkg.description } : {}),
      ...(licenses(pkg) ? { licenses: licenses(pkg) } : {}),
      purl: pkg.purl,
      properties: props,
    });
  }
  return {
    $schema: 'http://cyclonedx.org/schema/bom-1.6.schema.json',
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: `urn:uuid:${reportId(`cyclonedx:${input.image.name}:${input.image.manifestDigest ?? input.image.configDigest ?? ''}`)}`,
    version: 1,
    metadata: {
      timestamp: (input.created ?? reportTime()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      tools: { components: [{ type: 'application', name: input.tool.name, version: input.tool.version }] },
      component: {
        'bom-ref': imageRef,
        type: 'container',
        name: image.name,
        ...(image.manifestDigest || image.configDigest
          ? { version: image.manifestDigest ?? image.configDigest }
          : {}),
        properties: imageProps,
      },
    },
    components,
    dependencies: [
      { ref: imageRef, dependsOn: [...(osRef ? [osRef] : []), ...pkgRefs] },
      ...(osRef ? [{ ref: osRef, dependsOn: [] }] : []),
      ...pkgRefs.map((ref) => ({ ref, dependsOn: [] })),
    ],
  };
}
