// Top-level fields of an imported record (plain chat or NeMo-Gym row, beside the format's own) that say where its
// state comes from: the sandbox image to replay a terminal trajectory in, and SWE-bench's instance fields, which
// mark data whose state needs a repository the record does not carry.
import { z } from 'zod';
import { SandboxImage } from '../core/schemas';

const Id = z.union([z.string().min(1), z.number()]);

/** SWE-bench's names for the reference patch and the instance (also read from a `metadata` object). */
const SWE_FIELDS = ['patch', 'reference_patch', 'gold_patch', 'instance_id'] as const;

export const ImportFields = z.object({
  /** The trajectory a NeMo-Gym row was cut from (its turns share it). */
  trajectory_id: Id.optional(),
  /** The Docker image a terminal trajectory's commands are replayed in (default: the config's, else the terminal image). */
  sandbox_image: SandboxImage.optional(),
  /** SWE-bench's reference patch and instance id (under any of SWE_FIELDS' names), at the top or in `metadata`. */
  patch: z.unknown().optional(),
  reference_patch: z.unknown().optional(),
  gold_patch: z.unknown().optional(),
  instance_id: z.unknown().optional(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
});
export type ImportFields = z.infer<typeof ImportFields>;

/** An SWE record: it names a reference patch or an SWE-bench instance, at its top level or in its metadata. */
export const isSweRecord = (f: ImportFields): boolean => SWE_FIELDS.some((k) => f[k] != null || f.metadata?.[k] != null);
