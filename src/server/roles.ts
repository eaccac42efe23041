/**
 * Roles and what each may do. A token carries a role and, optionally, a narrower list of
 * permissions (its scopes). `webhook` is for registries that cannot sign their notifications
 * (CNCF Distribution): it may only deliver events.
 */
export const ROLES = ['viewer', 'developer', 'approver', 'admin', 'webhook'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = ['read', 'report', 'webhook', 'approve', 'admin'] as const;
export type Permission = (typeof PERMISSIONS)[number];

const GRANTS: Record<Role, Permission[]> = {
  viewer: ['read'],
  developer: ['read', 'report'],
  approver: ['read', 'report', 'approve'],
  admin: ['read', 'report', 'webhook', 'approve', 'admin'],
  webhook: ['webhook'],
};

export function isRole(r: string): r is Role {
  return (ROLES as readonly string[]).includes(r);
}

export function permissionsOf(role: string, scopes?: string[] | null): Permission[] {
  const granted = isRole(role) ? GRANTS[role] : [];
  return scopes ? granted.filter((p) => scopes.includes(p)) : granted;
}
