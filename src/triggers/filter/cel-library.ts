// @bufbuild/cel, loaded the first time a trigger has a filter. Loading it builds CEL's standard
// library and a protobuf registry: about 4 MiB of heap and 15 MiB of resident memory that a receiver
// serving no filter should not carry. Triggers compile synchronously, so it is loaded with require
// (the package's CommonJS build); every module of ours reaches it through here, so exactly one copy
// of the library, and of its value types, is ever loaded.
import { createRequire } from 'node:module';
import type * as Cel from '@bufbuild/cel';
import type * as CelExtensions from '@bufbuild/cel/ext';

const require = createRequire(import.meta.url);
let cel: typeof Cel | undefined;

export function celLibrary(): typeof Cel {
  return (cel ??= require('@bufbuild/cel') as typeof Cel);
}

/** CEL's string extension functions (lowerAscii, split, …), as the library's `ext` entry point gives them. */
export function celStringExtensions(): typeof CelExtensions.strings {
  return (require('@bufbuild/cel/ext') as typeof CelExtensions).strings;
}
