/** A pattern with the g flag, for matchAll (which leaves the shared regex's lastIndex alone). */
export const globalRegex = (re: RegExp): RegExp =>
  re.flags.includes('g') ? re : new RegExp(re.source, `${re.flags}g`);
