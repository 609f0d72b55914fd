// A record that is well-formed JSON but cannot be used: names the field (a path into the record) and why.
export class RecordError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'RecordError';
  }
}
