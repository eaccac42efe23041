/**
 * Roles and what each may do. A token carries a role and, optionally, a narrower list of
 * permissions (its scopes) and environments. Two roles are for machines, one job each: `webhook`
 * for registries that cannot sign their notifications (CNCF Distribution) — it may only deliver
 * events; `admission` for the Kubernetes API server calling the admission webhook — it may only ask
 * for decisions (which record what runs where). A registry's token in its notifications config must
 * not be able to rewrite what runs in an environment, so the two are never one role.
 */
export const ROLES = ['viewer', 'developer', 'approver', 'admin', 'webhook', 'admission'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = ['read', 'report', 'webhook', 'admission', 'approve', 'admin'] as const;
export type Permission = (typeof PERMISSIONS)[number];

const GRANTS: Record<Role, Permission[]> = {
  viewer: ['read'],
  developer: ['read', 'report'],
  approver: ['read', 'report', 'approve'],
  admin: ['read', 'report', 'webhook', 'admission', 'approve', 'admin'],
  webhook: ['webhook'],
  admission: ['admission'],
};

/** Roles for machines: tokens only, never a person's account or an OIDC group's role. */
export const MACHINE_ROLES: readonly Role[] = ['webhook', 'admission'];
export const PERSON_ROLES = ROLES.filter((r) => !MACHINE_ROLES.includes(r));
export function isPersonRole(r: string): r is Role {
  return isRole(r) && !MACHINE_ROLES.includes(r);
}

export function isRole(r: string): r is Role {
  return (ROLES as readonly string[]).includes(r);
}

export function permissionsOf(role: string, scopes?: string[] | null): Permission[] {
  const granted = isRole(role) ? GRANTS[role] : [];
  return scopes ? granted.filter((p) => scopes.includes(p)) : granted;
}
