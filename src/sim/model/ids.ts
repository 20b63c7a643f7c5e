/**
 * Deterministic resource ids shaped like EC2's (`eni-` and 17 hex digits), so runs and test output are repeatable.
 * Each model has its own counter; ids never repeat within a model.
 */
export class IdSource {
  #next = 1;

  next(prefix: string): string {
    return `${prefix}-0${(0xa000000000000000n + BigInt(this.#next++)).toString(16)}`;
  }

  /** A locally administered unicast MAC (02:…), unique within the model. */
  mac(): string {
    const value = this.#next++;
    const bytes = [0x02, 0x5e, (value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff, 0x01];
    return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
  }
}
