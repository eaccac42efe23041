/**
 * Roles and what each may do. A token carries a role and, optionally, a narrower list of
 * permissions (its scopes) and environments. `webhook` is for machines: registries that cannot
 * sign their notifications (CNCF Distribution) and the Kubernetes API server calling the
 * admission webhook; it may only deliver events and ask for admission decisions.
 */
export const ROLES = ['viewer', 'developer', 'approver', 'admin', 'webhook'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = ['read', 'report', 'webhook', 'admission', 'approve', 'admin'] as const;
export type Permission = (typeof PERMISSIONS)[number];

const GRANTS: Record<Role, Permission[]> = {
  viewer: ['read'],
  developer: ['read', 'report'],
  approver: ['read', 'report', 'approve'],
  admin: ['read', 'report', 'webhook', 'admission', 'approve', 'admin'],
  webhook: ['webhook', 'admission'],
};

export function isRole(r: string): r is Role {
  return (ROLES as readonly string[]).includes(r);
}

export function permissionsOf(role: string, scopes?: string[] | null): Permission[] {
  const granted = isRole(role) ? GRANTS[role] : [];
  return scopes ? granted.filter((p) => scopes.includes(p)) : granted;
}
