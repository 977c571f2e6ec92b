/**
 * Placeholder.
 */
export class Retention {
  /** keep the last n */
  public static keepLast(n: number): Retention {
    return new Retention(n);
  }
  private constructor(public readonly last: number) {}
}
