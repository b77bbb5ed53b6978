export async function verify(): Promise<number> {
  return 1;
}
