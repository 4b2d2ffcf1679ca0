// The state an operator sees an instance in, each instance in exactly one (the API counts them the same way).

/** disabled, else drained, else weight 0, else up. */
export function stateOf(instance) {
  if (instance.disabled) return 'disabled';
  if (instance.drained) return 'drained';
  if (instance.effectiveWeight === 0) return 'weight 0';
  return 'up';
}

/** Whether consumers send it requests. */
export const takesTraffic = instance => stateOf(instance) === 'up';
