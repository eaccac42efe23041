/** Platforms as os/arch[/variant], normalised the way container tools do. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

const ARCH_ALIASES: Record<string, string> = {
  x64: 'amd64',
  x86_64: 'amd64',
  aarch64: 'arm64',
  ia32: '386',
  i386: '386',
  armhf: 'arm',
  armel: 'arm',
};

export function normalizeArch(arch: string): string {
  return ARCH_ALIASES[arch] ?? arch;
}

export function parsePlatform(text: string): Platform {
  const [os, arch, variant] = text.split('/');
  if (!os || !arch) throw new Error(`platform "${text}" is not of the form os/arch[/variant]`);
  return { os, architecture: normalizeArch(arch), variant: variant || undefined };
}

export function hostPlatform(): Platform {
  const architecture = normalizeArch(process.arch);
  return { os: 'linux', architecture, variant: architecture === 'arm64' ? 'v8' : undefined };
}

export function formatPlatform(p: Partial<Platform>): string {
  return [p.os ?? '?', p.architecture ?? '?', p.variant].filter(Boolean).join('/');
}

/** Does a descriptor's platform satisfy the wanted one? A missing variant matches any. */
export function platformMatches(have: Partial<Platform> | undefined, want: Platform): boolean {
  if (!have) return false;
  if (have.os !== want.os || normalizeArch(have.architecture ?? '') !== want.architecture) return false;
  if (want.variant && have.variant && want.variant !== have.variant) {
    // arm64 images commonly omit v8; treat v8 and none as the same.
    return want.architecture === 'arm64' && [want.variant, have.variant].every((v) => v === 'v8');
  }
  return true;
}
