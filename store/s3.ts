// The artefact store on S3 (AWS, or any S3-compatible server such as versitygw), through the AWS SDK v3.
// Credentials come from the standard AWS environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles, roles),
// never from the campaign config.
//
// What the callers rely on, as with the local store:
// - atomic: an object appears under its key whole or not at all. A single PUT is atomic in S3; a body above
//   `multipartThreshold` goes up as a multipart upload, which shows nothing under the key until it completes
//   (and is aborted on failure).
// - idempotent by key: a put replaces what is there, so a retried activity that writes the same key again leaves
//   one object (its checkpoint keys are fixed per step, so a retry finds or reproduces the same checkpoint).
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { S3StoreConfig } from '../core/store-config';
import { ObjectStoreSetupError, ObjectStoreUnavailableError } from './errors';
import { ArtefactStore, MissingArtefactError, assertValidKey } from './store';

const MiB = 1024 * 1024;

export interface S3StoreOptions {
  /** Bodies larger than this go up as multipart uploads (default 64 MiB). */
  multipartThreshold?: number;
  /** Part size of a multipart upload (S3's minimum is 5 MiB except for the last part; default 16 MiB). */
  partSize?: number;
  /** Attempts per request inside the SDK before the error reaches the caller (default 3). */
  maxAttempts?: number;
}

type Op = 'bucket' | 'put' | 'get' | 'exists' | 'list' | 'delete';

export class S3Store implements ArtefactStore {
  readonly describe: string;
  private readonly client: S3Client;
  private readonly prefix: string;
  private readonly where: string;
  private readonly multipartThreshold: number;
  private readonly partSize: number;
  private bucketChecked: Promise<void> | undefined;

  constructor(
    readonly config: S3StoreConfig,
    opts: S3StoreOptions = {},
  ) {
    this.prefix = config.prefix.replace(/^\/+|\/+$/g, '');
    this.where = config.endpoint ?? `AWS S3 (${config.region})`;
    this.describe = `s3://${config.bucket}/${this.prefix} at ${this.where}`;
    this.multipartThreshold = opts.multipartThreshold ?? 64 * MiB;
    this.partSize = Math.max(opts.partSize ?? 16 * MiB, 5 * MiB);
    this.client = new S3Client({
      endpoint: config.endpoint,
      region: config.region,
      forcePathStyle: config.forcePathStyle,
      maxAttempts: opts.maxAttempts ?? 3,
      // Plain PUT/GET without the SDK's newer default checksums, which not every S3-compatible server accepts.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 300_000 },
    });
  }

  private objectKey(key: string): string {
    assertValidKey(key);
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  /** One HeadBucket per store, so a missing bucket is named as such (a HEAD of a key would just say 404). */
  private ready(): Promise<void> {
    this.bucketChecked ??= this.client.send(new HeadBucketCommand({ Bucket: this.config.bucket })).then(
      () => undefined,
      (err) => {
        this.bucketChecked = undefined;
        throw this.explain(err, 'bucket', '');
      },
    );
    return this.bucketChecked;
  }

  private async call<T>(op: Op, key: string, work: () => Promise<T>): Promise<T> {
    await this.ready();
    try {
      return await work();
    } catch (err) {
      throw this.explain(err, op, key);
    }
  }

  /** The SDK's error as one of the store's typed errors, with what to do about it. */
  private explain(err: unknown, op: Op, key: string): Error {
    if (err instanceof MissingArtefactError || err instanceof ObjectStoreSetupError || err instanceof ObjectStoreUnavailableError)
      return err;
    const e = err as { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode;
    const what = op === 'bucket' ? `bucket ${this.config.bucket}` : `${op} '${key}'`;
    // A HEAD answer has no body: the SDK then knows only the status ('Unknown: UnknownError').
    const named = e.name && e.name !== 'Unknown' ? [e.name] : [];
    const said = e.message && e.message !== 'UnknownError' ? `: ${e.message}` : '';
    const detail = [...named, ...(status ? [`HTTP ${status}`] : [])].join(', ') + said;
    if (e.name === 'NoSuchBucket' || (op === 'bucket' && status === 404)) {
      return new ObjectStoreSetupError(
        `bucket ${this.config.bucket} does not exist at endpoint ${this.where}: create it or fix store.bucket`,
        {
          cause: err,
        },
      );
    }
    const refused = ['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'InvalidToken', 'ExpiredToken', 'Forbidden'];
    if (refused.includes(e.name ?? '') || status === 401 || status === 403) {
      return new ObjectStoreSetupError(
        `the object store at ${this.where} refused ${what} (${detail}): check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the bucket's permissions`,
        { cause: err },
      );
    }
    if (e.name === 'CredentialsProviderError') {
      return new ObjectStoreSetupError(
        `no credentials for the object store at ${this.where}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
        {
          cause: err,
        },
      );
    }
    // No HTTP status: the request never got an answer (refused, reset, timed out). 5xx/429: the server is struggling.
    if (status === undefined || status >= 500 || status === 429) {
      return new ObjectStoreUnavailableError(`the object store at ${this.where} is unavailable (${what}): ${detail}`, { cause: err });
    }
    return new Error(`object store ${this.describe}: ${what} failed: ${detail}`, { cause: err });
  }

  async put(key: string, data: Uint8Array | string): Promise<void> {
    const Key = this.objectKey(key);
    const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    await this.call('put', key, async () => {
      if (body.byteLength <= this.multipartThreshold) {
        await this.client.send(new PutObjectCommand({ Bucket: this.config.bucket, Key, Body: body }));
      } else {
        await this.putMultipart(Key, body);
      }
    });
  }

  private async putMultipart(Key: string, body: Uint8Array): Promise<void> {
    const Bucket = this.config.bucket;
    const { UploadId } = await this.client.send(new CreateMultipartUploadCommand({ Bucket, Key }));
    try {
      const parts = [];
      for (let offset = 0, n = 1; offset < body.byteLength; offset += this.partSize, n++) {
        const part = body.subarray(offset, Math.min(offset + this.partSize, body.byteLength));
        const { ETag } = await this.client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: n, Body: part }));
        parts.push({ ETag, PartNumber: n });
      }
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } }));
    } catch (err) {
      // Best effort: an upload left behind shows nothing under the key; the bucket's lifecycle rule may expire it.
      await this.client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })).catch(() => {});
      throw err;
    }
  }

  async get(key: string): Promise<Buffer> {
    const Key = this.objectKey(key);
    return this.call('get', key, async () => {
      try {
        const res = await this.client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key }));
        const bytes = await res.Body!.transformToByteArray();
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      } catch (err) {
        if ((err as { name?: string }).name === 'NoSuchKey') throw new MissingArtefactError(key, this.describe);
        throw err;
      }
    });
  }

  async exists(key: string): Promise<boolean> {
    const Key = this.objectKey(key);
    return this.call('exists', key, async () => {
      try {
        await this.client.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key }));
        return true;
      } catch (err) {
        const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
        if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return false;
        throw err;
      }
    });
  }

  async list(prefix: string): Promise<string[]> {
    const base = this.prefix ? `${this.prefix}/` : '';
    return this.call('list', prefix, async () => {
      const keys: string[] = [];
      let ContinuationToken: string | undefined;
      do {
        const res = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.config.bucket, Prefix: base + prefix, ContinuationToken }),
        );
        for (const o of res.Contents ?? []) if (o.Key) keys.push(o.Key.slice(base.length));
        ContinuationToken = res.IsTruncated ? res.NextContinuationToken : undefined;
      } while (ContinuationToken);
      return keys.sort();
    });
  }

  async delete(key: string): Promise<void> {
    const Key = this.objectKey(key);
    await this.call('delete', key, () => this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key })));
  }

  /** Closes the client's connections. */
  close(): void {
    this.client.destroy();
  }
}
