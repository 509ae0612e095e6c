/** Protobuf wire types tokengate's Check codec reads and writes. */
export const VARINT = 0;
export const LEN = 2;

/** A field's tag: field number and wire type, as written before the field's value. */
export function tag(field: number, wireType: number): number {
  return (field << 3) | wireType;
}
