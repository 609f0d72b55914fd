// Seeded pseudo-random numbers for initialisation and sampling (never Math.random).
import { Rng } from '../core/rng';

/** Mixes any number of 32-bit integers into one 32-bit seed (murmur3 finaliser style). */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** The seed of prompt i of a sampling call with `seed` (its sample j draws from rng(mixSeed(promptSeed, j))). */
export function promptSeed(seed: number, i: number): number {
  return mixSeed(seed, i);
}

/** Uniform floats in [0, 1) from core/rng.ts's mulberry32 generator (one PRNG for the project). */
export function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

/** Standard normal draws (Box-Muller) from a uniform generator. */
export function normals(next: () => number, n: number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - next();
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u)) * std;
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}
