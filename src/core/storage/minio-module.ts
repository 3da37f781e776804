import type * as Minio from 'minio';
import type * as MinioCredentialProvider from 'minio/dist/main/CredentialProvider.js' with { 'resolution-mode': 'require' };
import type * as MinioCredentials from 'minio/dist/main/Credentials.js' with { 'resolution-mode': 'require' };
import { lazyRequire } from '../lazy-require.js';

/**
 * minio (~145 modules: its XML parsers, lodash, stream helpers), loaded when the first S3 store is built. The
 * library's entry exports createS3Store, so a static import cost every embedded (filesystem) user of `flts`.
 */
export const minio = lazyRequire<typeof Minio>('minio');

// The base class of flts' own credentials providers and the credentials they hand out: two small files with no
// dependencies, loaded now because a class extends its base when its module loads. They come from minio's CommonJS
// build, as `minio()` does: its client only takes a provider that is an instance of that build's CredentialProvider.
export const { CredentialProvider } = lazyRequire<typeof MinioCredentialProvider>('minio/dist/main/CredentialProvider.js')();
export const { Credentials } = lazyRequire<typeof MinioCredentials>('minio/dist/main/Credentials.js')();
export type Credentials = MinioCredentials.Credentials;
