// The path and format of an input file of expert data (core/trajectory-source.ts), whichever form the source takes.
import type { TrajectoryFormat, TrajectorySource } from '../core/trajectory-source';

export { TrajectoryFormat, TrajectorySource } from '../core/trajectory-source';

export const sourcePath = (s: TrajectorySource): string => (typeof s === 'string' ? s : s.path);
export const sourceFormat = (s: TrajectorySource): TrajectoryFormat => (typeof s === 'string' ? 'auto' : s.format);
/** The sandbox image the source names for its replayed terminal trajectories, if any. */
export const sourceImage = (s: TrajectorySource): string | undefined => (typeof s === 'string' ? undefined : s.image);

/** The same source with its path replaced (e.g. resolved against the config's folder). */
export const withPath = (s: TrajectorySource, path: string): TrajectorySource => (typeof s === 'string' ? path : { ...s, path });
