import { DerivedKey, keyFileName } from './keyGenerator';

/**
 * SSQP_CLR_Private_Key_Conventions.md: the DAC, DBI and SOS that belong to a CoreCLR runtime are
 * looked up by the runtime's own identity, so a debugger holding only the runtime finds them.
 * Each runtime format has its own companions and key shape.
 */
const RUNTIMES: Record<
  string,
  { format: string; companions: readonly string[]; key: (name: string, id: string) => string }
> = {
  'coreclr.dll': {
    format: 'pe',
    companions: ['mscordaccore.dll', 'mscordbi.dll', 'sos.dll', 'sos.netcore.dll'],
    key: (name, id) => `${name}/${id}/${name}`,
  },
  'libcoreclr.so': {
    format: 'elf',
    companions: ['libmscordaccore.so', 'libmscordbi.so', 'libsos.so', 'sos.netcore.dll'],
    key: (name, id) => `${name}/elf-buildid-coreclr-${id}/${name}`,
  },
  'libcoreclr.dylib': {
    format: 'macho',
    companions: ['libmscordaccore.dylib', 'libmscordbi.dylib', 'libsos.dylib', 'sos.netcore.dll'],
    key: (name, id) => `${name}/mach-uuid-coreclr-${id}/${name}`,
  },
};

export interface PackageFile {
  readonly path: string;
  readonly format?: string;
  readonly identity?: readonly string[];
}

/** The runtime-derived keys of the companion files in a package, per companion path. */
export function runtimeCompanionKeys(files: readonly PackageFile[]): Map<string, DerivedKey[]> {
  const keys = new Map<string, DerivedKey[]>();
  const byDirectory = new Map<string, PackageFile[]>();
  for (const file of files) {
    const directory = file.path.slice(0, file.path.lastIndexOf('/') + 1).toLowerCase();
    byDirectory.set(directory, [...(byDirectory.get(directory) ?? []), file]);
  }
  for (const runtime of files) {
    const rule = RUNTIMES[keyFileName(runtime.path)];
    if (!rule || runtime.format !== rule.format || !runtime.identity) continue;
    // A package may carry runtimes for several platforms; companions belong to the runtime beside them.
    const directory = runtime.path.slice(0, runtime.path.lastIndexOf('/') + 1).toLowerCase();
    for (const companion of byDirectory.get(directory) ?? []) {
      const name = keyFileName(companion.path);
      if (!rule.companions.includes(name)) continue;
      const list = keys.get(companion.path) ?? [];
      for (const id of runtime.identity)
        list.push({ key: rule.key(name, id), convention: 'clr-private' });
      keys.set(companion.path, list);
    }
  }
  return keys;
}
