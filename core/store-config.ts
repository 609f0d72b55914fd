// Where a campaign's artefacts live (the config's `store`): a local folder or an S3 bucket. store/ opens them.
import { z } from 'zod';

export const LocalStoreConfig = z.object({ kind: z.literal('local'), root: z.string().min(1) });
export type LocalStoreConfig = z.infer<typeof LocalStoreConfig>;

export const S3StoreConfig = z.object({
  kind: z.literal('s3'),
  bucket: z.string().min(1),
  /** An S3-compatible endpoint (http://host:port); absent for AWS S3 itself. */
  endpoint: z.url().optional(),
  region: z.string().min(1).default('us-east-1'),
  /** Keys are stored under this prefix (no leading or trailing slash needed). */
  prefix: z.string().default(''),
  /** Path-style URLs (endpoint/bucket/key), which S3-compatible servers expect. */
  forcePathStyle: z.boolean().default(true),
});
export type S3StoreConfig = z.infer<typeof S3StoreConfig>;

export const StoreConfig = z.discriminatedUnion('kind', [LocalStoreConfig, S3StoreConfig]);
export type StoreConfig = z.infer<typeof StoreConfig>;
