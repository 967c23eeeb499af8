import { debuginfodKey } from '../serve/debuginfod';
import { normaliseClientKey } from '../keys/clientKey';
import { fileNameOf } from '../index/nameIndex';

/**
 * What someone pasted into "why is my symbol missing?", read as a key where it names one: a key,
 * an SSQP or debuginfod URL, a GNU build-id, a file name with a PDB signature (GUID and age), or
 * a bare file name (then only the keys filed under it can be shown).
 */
export type LookupInput =
  | {
      readonly kind: 'key';
      readonly key: string;
      /** The file name the key is filed under, when it has the "file/index/file" form. */
      readonly file?: string;
      /** How the input named the key, in words. */
      readonly read: string;
    }
  | { readonly kind: 'file'; readonly file: string }
  | { readonly kind: 'invalid'; readonly reason: string };

const GUID = /^\{?([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})\}?$/i;
const BUILD_ID = /^(?:[0-9a-f]{2}){8,20}$/i;
/**
 * A PDB signature as SSQP writes it: 32 hex digits of GUID, then the age in hex, unpadded. Hex of
 * 33 to 39 digits reads as one; other even lengths from 16 to 40 as a build-id.
 */
const SIGNATURE = /^[0-9a-f]{32}[0-9a-f]{1,7}$/i;

function keyOf(key: string, read: string): LookupInput {
  const check = normaliseClientKey(key);
  if (!check.ok) return { kind: 'invalid', reason: check.reason };
  const file = fileNameOf(check.key);
  return { kind: 'key', key: check.key, read, ...(file && { file }) };
}

/** "GUID age", "GUIDage" or "{GUID}-age" as the 33-40 hex digits SSQP puts in a PDB's key. */
function signatureOf(text: string): string | undefined {
  const compact = text.replace(/\s+/g, ' ').trim();
  const [guidPart = '', agePart] = compact.split(' ');
  const guid = GUID.exec(guidPart);
  if (guid && agePart && /^[0-9a-f]{1,8}$/i.test(agePart)) {
    return `${guid.slice(1).join('')}${agePart.replace(/^0+(?=.)/, '')}`.toLowerCase();
  }
  if (!agePart && SIGNATURE.test(compact)) return compact.toLowerCase();
  return undefined;
}

function fromUrl(url: URL): LookupInput {
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    return { kind: 'invalid', reason: 'the URL is not valid percent-encoded UTF-8' };
  }
  const ssqp = /\/symbols\/(.+)$/.exec(path);
  if (ssqp?.[1]) return keyOf(ssqp[1], 'the key of the SSQP URL');
  const buildId = /\/buildid\/([^/]+)\/([^/]+)/.exec(path);
  if (buildId?.[1] && buildId[2]) {
    const debug = debuginfodKey(buildId[1], 'debuginfo');
    if (!debug.ok) return { kind: 'invalid', reason: debug.reason };
    return keyOf(debug.key, `the debug file of build-id ${buildId[1].toLowerCase()}`);
  }
  return {
    kind: 'invalid',
    reason: 'the URL has neither /symbols/<key> (SSQP) nor /buildid/<id>/... (debuginfod)',
  };
}

export function parseLookup(input: string): LookupInput {
  const text = input.trim();
  if (text === '') return { kind: 'invalid', reason: 'paste a key, a URL, a file name or an id' };
  if (/^https?:\/\//i.test(text)) {
    try {
      return fromUrl(new URL(text));
    } catch {
      return { kind: 'invalid', reason: 'the URL cannot be read' };
    }
  }
  if (text.includes('/')) return keyOf(text, 'the key as pasted');
  const [first = '', ...rest] = text.split(/\s+/);
  // "app.pdb <signature>": the file name, then its PDB signature.
  if (rest.length > 0 && /\./.test(first)) {
    const signature = signatureOf(rest.join(' '));
    if (signature) {
      return keyOf(`${first}/${signature}/${first}`, `the PDB key of ${first} with that signature`);
    }
  }
  if (BUILD_ID.test(text) && !SIGNATURE.test(text)) {
    const debug = debuginfodKey(text, 'debuginfo');
    if (debug.ok) return keyOf(debug.key, `the debug file of build-id ${text.toLowerCase()}`);
  }
  if (signatureOf(text)) {
    return {
      kind: 'invalid',
      reason:
        'a PDB signature alone names no key: put the file name before it, as "app.pdb <signature>"',
    };
  }
  if (/\s/.test(text)) return { kind: 'invalid', reason: 'a key or a file name has no spaces' };
  const check = normaliseClientKey(text);
  if (!check.ok) return { kind: 'invalid', reason: check.reason };
  return { kind: 'file', file: check.key };
}
